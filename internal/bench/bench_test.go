package bench

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for _, c := range []struct{ p, want float64 }{{50, 5}, {95, 10}, {10, 1}, {0, 1}, {100, 10}} {
		if got := Percentile(xs, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if xs[0] != 5 {
		t.Error("Percentile sorted its argument")
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("median of nothing is not NaN")
	}
	if got := Millis([]time.Duration{1500 * time.Microsecond}); got[0] != 1.5 {
		t.Errorf("Millis = %v", got)
	}
}

func TestTable(t *testing.T) {
	out := Table([]Row{
		{What: "encode", Ours: 105, Anchor: 100, Unit: "µs", AName: "C loop", Goal: Goal{1.05, "≤ 1.05×"}},
		{What: "cpu", Ours: 60, Anchor: 100, Unit: "%", AName: "Chromium", Goal: Goal{0.5, "≤ 0.5×"}},
		{What: "join p50", Ours: 12.34, Anchor: math.NaN(), Unit: "ms", Goal: Goal{25, "≤ 25 ms"}},
		{What: "later", Ours: math.NaN(), Anchor: math.NaN(), Unit: "ms", Goal: Goal{300, "≤ 300 ms"}},
	})
	for _, want := range []string{
		"| encode | 105 µs | C loop | 100 µs | 1.05× | ≤ 1.05× | met |",
		"| cpu | 60.0 % | Chromium | 100 % | 0.60× | ≤ 0.5× | **not met** |",
		"| join p50 | 12.3 ms | — | — | — | ≤ 25 ms | met |",
		"| later | — | — | — | — | ≤ 300 ms | not measured |",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestParseStat(t *testing.T) {
	st, err := ParseStat([]byte("4242 (my (odd) prog) S 17 4242 4242 0 -1 4194560 120 0 0 0 250 50 0 0 20 0 9 0 1234 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st.PPID != 17 || st.CPUSeconds != 3 {
		t.Errorf("got %+v, want ppid 17, 3 s", st)
	}
	if _, err := ParseStat([]byte("garbage")); err == nil {
		t.Error("garbage parsed")
	}
}

func TestParseSmapsRollup(t *testing.T) {
	m, err := ParseSmapsRollup([]byte("55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:               12345 kB\nPss:                6789 kB\nPss_Anon:  1 kB\n"))
	if err != nil || m.RSSKiB != 12345 || m.PSSKiB != 6789 {
		t.Errorf("got %+v, %v", m, err)
	}
	if _, err := ParseSmapsRollup([]byte("Rss: 1 kB\n")); err == nil {
		t.Error("a rollup without Pss parsed")
	}
}

// A fake /proc: 10 → 11 → 12, and 20 elsewhere.
func TestTreeUsage(t *testing.T) {
	root := t.TempDir()
	for _, p := range []struct{ pid, ppid, ticks, rss, pss string }{
		{"10", "1", "100", "1000", "500"}, {"11", "10", "50", "2000", "700"},
		{"12", "11", "50", "3000", "800"}, {"20", "1", "999", "9999", "9999"},
	} {
		dir := filepath.Join(root, p.pid)
		os.MkdirAll(dir, 0o755)
		stat := p.pid + " (x) S " + p.ppid + " 0 0 0 0 0 0 0 0 0 " + p.ticks + " 0 0 0\n"
		os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644)
		os.WriteFile(filepath.Join(dir, "smaps_rollup"), []byte("Rss: "+p.rss+" kB\nPss: "+p.pss+" kB\n"), 0o644)
		// Each process a thread of its own id with 3 + 1 switches; 10 a
		// second one with 100 + 20.
		tasks := map[string]string{p.pid: "Name:\tx\nvoluntary_ctxt_switches:\t3\nnonvoluntary_ctxt_switches:\t1\n"}
		if p.pid == "10" {
			tasks["15"] = "Name:\tma-null\nvoluntary_ctxt_switches:\t100\nnonvoluntary_ctxt_switches:\t20\n"
		}
		for tid, st := range tasks {
			os.MkdirAll(filepath.Join(dir, "task", tid), 0o755)
			os.WriteFile(filepath.Join(dir, "task", tid, "status"), []byte(st), 0o644)
		}
	}
	os.MkdirAll(filepath.Join(root, "self"), 0o755)
	u, err := TreeUsage(root, 10)
	if err != nil {
		t.Fatal(err)
	}
	if u.Procs != 3 || u.CPUSeconds != 2 || u.RSSKiB != 6000 || u.PSSKiB != 2000 || u.Threads != 4 || u.Switches != 3*4+120 {
		t.Errorf("got %+v", u)
	}
	ts, err := Threads(root, 10)
	if err != nil || len(ts) != 2 {
		t.Fatalf("threads of 10: %+v, %v", ts, err)
	}
	for _, th := range ts {
		if (th.TID == 15) != (th.Name == "ma-null" && th.Switches == 120) {
			t.Errorf("thread %+v", th)
		}
	}
	if _, _, err := ParseTaskStatus([]byte("Name:\tx\nvoluntary_ctxt_switches:\t3\n")); err == nil {
		t.Error("a status without nonvoluntary_ctxt_switches parsed")
	}
	if _, err := TreeUsage(root, 99); err == nil {
		t.Error("a missing process measured")
	}
}

func TestParseGCTrace(t *testing.T) {
	trace := `time=... level=INFO msg="voipd ready"
gc 1 @0.010s 1%: 0.012+0.5+0.003 ms clock, 0.02+0.1/0.2/0+0.006 ms cpu, 3->3->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 2 @1.500s 1%: 0.012+0.5+0.003 ms clock, 0.02+0.1/0.2/0+0.006 ms cpu, 4->4->2 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 3 @3.000s 1%: 0.012+0.5+0.003 ms clock, 0.02+0.1/0.2/0+0.006 ms cpu, 5->5->2 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 4 @9.000s 1%: 0.012+0.5+0.003 ms clock, 0.02+0.1/0.2/0+0.006 ms cpu, 6->6->2 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
`
	cycles := ParseGCTrace(strings.NewReader(trace))
	if len(cycles) != 4 || cycles[1] != (GCCycle{N: 2, At: 1.5, HeapStart: 4, HeapEnd: 4, Live: 2}) {
		t.Fatalf("got %+v", cycles)
	}
	s := SummarizeGC(cycles, 1, 4)
	// Cycles 2 and 3 lie in the window: (4-1) + (5-2) MB.
	if s.Cycles != 2 || s.AllocatedMB != 6 || s.CyclesPerMin != 40 || s.MBPerSecond != 2 {
		t.Errorf("got %+v", s)
	}
	if _, ok := ParseGCLine("gc tuning is fun"); ok {
		t.Error("a log line parsed as a cycle")
	}
}

func TestDetectorFindsClicksAfterQuiet(t *testing.T) {
	d := NewDetector()
	frame := make([]int16, 960)
	var onsets []int
	for n := range 60 {
		WriteClick(frame, n%25 == 0)
		if n%25 == 0 && n > 0 {
			// Shift the burst into the frame, as a codec's delay would.
			copy(frame[300:], frame[:ClickBurst])
			clear(frame[:300])
		}
		if off, ok := d.Feed(frame); ok {
			onsets = append(onsets, n*960+off)
		}
	}
	// Frame 0's click comes before 100 ms of quiet: not armed yet.
	want := []int{25*960 + 300 + 1, 50*960 + 300 + 1} // sample 0 of a sine is 0
	if len(onsets) != 2 || onsets[0] > want[0]+5 || onsets[0] < want[0] || onsets[1] > want[1]+5 || onsets[1] < want[1] {
		t.Errorf("onsets %v, want about %v", onsets, want)
	}
}

func TestMatchClicks(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sent := []time.Time{t0, t0.Add(500 * time.Millisecond), t0.Add(time.Second)}
	heard := []time.Time{t0.Add(80 * time.Millisecond), t0.Add(590 * time.Millisecond), t0.Add(-time.Second), t0.Add(1400 * time.Millisecond)}
	got := MatchClicks(sent, heard, 300*time.Millisecond)
	if len(got) != 2 || got[0] != 80*time.Millisecond || got[1] != 90*time.Millisecond {
		t.Errorf("got %v", got)
	}
}

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkEncode-2   	   10000	    250000 ns/op	       0 B/op	       0 allocs/op
BenchmarkEncode-2   	   10000	    230000 ns/op	       0 B/op	       0 allocs/op
BenchmarkEncode   	   10000	    240000 ns/op	       0 B/op	       1 allocs/op
BenchmarkCLoopOpusEncode-1 20000 200000.5 ns/op
BenchmarkBroken-2 FAIL
PASS
`
	r := ParseBench(strings.NewReader(out))
	if r.Runs("BenchmarkEncode") != 3 || r.Median("BenchmarkEncode") != 240000 || r.Allocs("BenchmarkEncode") != 1 {
		t.Errorf("Encode: %+v", r["BenchmarkEncode"])
	}
	if r.Min("BenchmarkEncode") != 230000 || !math.IsNaN(r.Min("BenchmarkMissing")) {
		t.Errorf("Min: %v", r.Min("BenchmarkEncode"))
	}
	if r.Median("BenchmarkCLoopOpusEncode") != 200000.5 || !math.IsNaN(r.Allocs("BenchmarkCLoopOpusEncode")) {
		t.Errorf("C loop: %+v", r["BenchmarkCLoopOpusEncode"])
	}
	if r.Runs("BenchmarkBroken") != 0 || !math.IsNaN(r.Median("BenchmarkMissing")) {
		t.Errorf("got %v", r)
	}
}

func TestParseMemStats(t *testing.T) {
	// The tail of /debug/pprof/allocs?debug=1 (Go 1.26), with a stack line
	// that must not be taken for a counter.
	prof := "heap profile: 3: 1024 [90: 4096] @ heap/1048576\n" +
		"1: 512 [30: 2048] @ 0x1 0x2\n#\t0x4a1b2c\tmain.f+0x2c\t/x.go:10\n\n" +
		"# runtime.MemStats\n# Alloc = 3502080\n# TotalAlloc = 48215040\n# Sys = 17515528\n" +
		"# Mallocs = 402118\n# Frees = 390000\n# NumGC = 9\n# NumForcedGC = 0\n"
	c, err := ParseMemStats([]byte(prof))
	if err != nil {
		t.Fatal(err)
	}
	if c.HeapBytes != 48215040 || c.HeapObjects != 402118 || c.GCCycles != 9 {
		t.Errorf("got %+v", c)
	}
	if _, err := ParseMemStats([]byte("# TotalAlloc = 1\n# NumGC = 2\n")); err == nil || !strings.Contains(err.Error(), "Mallocs") {
		t.Errorf("a profile without Mallocs: %v", err)
	}
}

func TestRateBetween(t *testing.T) {
	a := Counters{Seconds: 10, HeapBytes: 1 << 20, HeapObjects: 1000, GCCycles: 3}
	b := Counters{Seconds: 70, HeapBytes: 121 << 20, HeapObjects: 61000, GCCycles: 13}
	r := RateBetween(a, b)
	want := AllocRate{Seconds: 60, MiB: 120, MiBPerSecond: 2, ObjectsPerSecond: 1000, Cycles: 10, CyclesPerMin: 10}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
}

func TestBuildAtWithoutHistory(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Skipf("git: %v %s", err, out)
	}
	err := BuildAt(dir, "8a4ae71", "./cmd/voipd", filepath.Join(dir, "voipd"))
	if !errors.Is(err, ErrNoHistory) {
		t.Errorf("BuildAt in an empty repository: %v, want ErrNoHistory", err)
	}
	if _, _, err := Commit(t.TempDir(), "HEAD"); !errors.Is(err, ErrNoHistory) {
		t.Errorf("Commit outside a repository: %v", err)
	}
}

func TestParseSmapsParts(t *testing.T) {
	smaps := `00400000-00403000 r--p 00000000 fe:00 10019609                           /opt/voipd
Size:                 12 kB
Rss:                  12 kB
00403000-00aba000 r-xp 00003000 fe:00 10019609                           /opt/voipd
Rss:                6000 kB
7f1cdb5f6000-7f1cdc000000 rw-p 00000000 00:00 0 
Rss:                9708 kB
7f1cdb600000-7f1cdb700000 r-xp 00000000 fe:00 42                         /usr/lib/x86_64-linux-gnu/libvpx.so.7.1.0
Rss:                 840 kB
7ffd1000-7ffd2000 rw-p 00000000 00:00 0                                  [stack]
Rss:                 132 kB
`
	p, err := ParseSmapsParts([]byte(smaps), "/opt/voipd")
	if err != nil {
		t.Fatal(err)
	}
	if p != (RSSParts{ExeKiB: 6012, LibsKiB: 840, AnonKiB: 9840}) {
		t.Fatalf("%+v", p)
	}
	if _, err := ParseSmapsParts([]byte("nothing\n"), "/x"); err == nil {
		t.Fatal("no Rss lines accepted")
	}
	self, err := ProcessRSSParts("/proc", os.Getpid())
	if err != nil || self.ExeKiB == 0 || self.AnonKiB == 0 {
		t.Fatalf("this process: %+v, %v", self, err)
	}
}
