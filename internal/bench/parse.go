package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// GCCycle is one line of the Go runtime's GODEBUG=gctrace=1 output:
//
//	gc 12 @3.456s 1%: 0.01+0.4+0.003 ms clock, ..., 4->5->2 MB, 5 MB goal, ...
//
// HeapStart is the heap when the cycle began, HeapEnd when marking ended,
// Live what marking found reachable (all in MB, as the runtime prints them).
type GCCycle struct {
	N                        int
	At                       float64 // seconds since the process started
	HeapStart, HeapEnd, Live float64
}

// ParseGCLine parses one gctrace line; ok is false for any other line
// (the process's own log lines share stderr with the trace).
func ParseGCLine(line string) (c GCCycle, ok bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "gc ") {
		return c, false
	}
	var pct int
	if n, err := fmt.Sscanf(line, "gc %d @%fs %d%%:", &c.N, &c.At, &pct); n != 3 || err != nil {
		return c, false
	}
	for _, part := range strings.Split(line, ",") {
		part = strings.TrimSpace(part)
		if !strings.HasSuffix(part, " MB") || strings.Count(part, "->") != 2 {
			continue
		}
		var a, b, l int
		if n, err := fmt.Sscanf(part, "%d->%d->%d MB", &a, &b, &l); n == 3 && err == nil {
			c.HeapStart, c.HeapEnd, c.Live = float64(a), float64(b), float64(l)
			return c, true
		}
	}
	return c, false
}

// ParseGCTrace returns every cycle in r, in order.
func ParseGCTrace(r io.Reader) []GCCycle {
	var out []GCCycle
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if c, ok := ParseGCLine(sc.Text()); ok {
			out = append(out, c)
		}
	}
	return out
}

// GCSummary is the allocation and collection over a window of a run.
type GCSummary struct {
	Cycles       int
	Seconds      float64
	AllocatedMB  float64 // heap allocated during the window, estimated from the trace
	CyclesPerMin float64
	MBPerSecond  float64
}

// SummarizeGC estimates allocation over the cycles in (from, to]: what a
// cycle's heap held at its start less what the previous cycle left live
// was allocated in between. The runtime prints whole MB, so one cycle's
// estimate is within ±1 MB; over many cycles the truncations average out.
func SummarizeGC(cycles []GCCycle, from, to float64) GCSummary {
	s := GCSummary{Seconds: to - from}
	var prev *GCCycle
	for i := range cycles {
		c := &cycles[i]
		if c.At <= from {
			prev = c
			continue
		}
		if c.At > to {
			break
		}
		s.Cycles++
		if prev != nil {
			s.AllocatedMB += max(0, c.HeapStart-prev.Live)
		}
		prev = c
	}
	if s.Seconds > 0 {
		s.CyclesPerMin = float64(s.Cycles) * 60 / s.Seconds
		s.MBPerSecond = s.AllocatedMB / s.Seconds
	}
	return s
}

// BenchResults are the runs of each benchmark in `go test -bench` output
// (and the C anchors' lines, which print the same format), by name without
// the -GOMAXPROCS suffix.
type BenchResults map[string][]BenchRun

// BenchRun is one line: ns/op and, with -benchmem, allocs/op (else NaN).
type BenchRun struct {
	NsPerOp, AllocsPerOp float64
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// ParseBench reads benchmark lines from r; other lines are skipped.
func ParseBench(r io.Reader) BenchResults {
	res := BenchResults{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		run := BenchRun{NsPerOp: math.NaN(), AllocsPerOp: math.NaN()}
		for i := 3; i < len(f); i++ {
			v, err := strconv.ParseFloat(f[i-1], 64)
			if err != nil {
				continue
			}
			switch f[i] {
			case "ns/op":
				run.NsPerOp = v
			case "allocs/op":
				run.AllocsPerOp = v
			}
		}
		if math.IsNaN(run.NsPerOp) {
			continue
		}
		name := procsSuffix.ReplaceAllString(f[0], "")
		res[name] = append(res[name], run)
	}
	return res
}

// Median is the median ns/op of a benchmark's runs (NaN when it did not run).
func (b BenchResults) Median(name string) float64 {
	var ns []float64
	for _, r := range b[name] {
		ns = append(ns, r.NsPerOp)
	}
	return Median(ns)
}

// Min is the fastest run's ns/op (NaN when it did not run). On a shared
// machine other load only ever adds time, so the least disturbed round is
// the best estimate of the code's own cost.
func (b BenchResults) Min(name string) float64 {
	m := math.NaN()
	for _, r := range b[name] {
		if math.IsNaN(m) || r.NsPerOp < m {
			m = r.NsPerOp
		}
	}
	return m
}

// Allocs is the largest allocs/op seen (NaN without -benchmem).
func (b BenchResults) Allocs(name string) float64 {
	a := math.NaN()
	for _, r := range b[name] {
		if math.IsNaN(a) || r.AllocsPerOp > a {
			a = r.AllocsPerOp
		}
	}
	return a
}

// Runs is how many runs a benchmark has.
func (b BenchResults) Runs(name string) int { return len(b[name]) }
