package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Where a voice call's CPU goes, by perf's samples of one process (issue
// 19: "profile before changing anything"): each sample's call stack is put
// in one place (the codec, the synthetic microphone, the device thread,
// the kernel by system call, the Go runtime, pion, voipd's own code...),
// for voipd and for baresip alike, so the CPU beyond the codec can be read
// side by side, part by part.

// Where a sample's CPU went. The order is the report's.
const (
	whereCodec    = "the codec (libopus)"
	whereVideo    = "the video codec (libvpx)"
	whereConvert  = "pixel conversion and scaling (libyuv)"
	whereSource   = "the synthetic devices (voipd's tone and pattern camera, baresip's ausine)"
	whereDevice   = "the speaker's device thread (miniaudio's null backend: its sleeps and the C callback)"
	whereSend     = "kernel: sending packets (sendto; on loopback the receiver's delivery too)"
	whereRecv     = "kernel: reading packets and events (recvfrom, read)"
	whereWait     = "kernel: sleeping and waking (epoll, futex, nanosleep: the context switches)"
	whereSyscall  = "kernel: other system calls"
	whereKernel   = "kernel: no system call (interrupts, preemption)"
	whereRuntime  = "Go runtime (scheduler, timers, GC)"
	wherePion     = "pion and its crypto (ICE, mux, SRTP with AES-GCM, interceptors)"
	whereOwn      = "voipd's own Go code (pipeline, jitter buffer, mixing, RTCP)"
	whereBaresip  = "baresip and libre (RTP, jitter buffer, audio path)"
	whereLibc     = "libc and the vDSO"
	whereOtherGo  = "other Go code (net, poll, sync, system call stubs)"
	whereUnknown  = "unknown"
	splitDuration = 20 * time.Second
	splitHz       = 2999
)

var whereOrder = []string{whereCodec, whereVideo, whereConvert, whereSource, whereDevice, whereSend, whereRecv, whereWait, whereSyscall,
	whereKernel, whereRuntime, wherePion, whereOwn, whereBaresip, whereLibc, whereOtherGo, whereUnknown}

// cpuSplit is one process's samples by where they went, or why there are
// none (why).
type cpuSplit struct {
	samples int
	by      map[string]int
	why     string
}

func (s cpuSplit) share(where string) float64 {
	if s.samples == 0 {
		return 0
	}
	return float64(s.by[where]) / float64(s.samples)
}

// frame is one line of a sample's stack: the symbol without its offset
// and the object's base name.
type frame struct{ sym, dso string }

// perfSplit samples pid's threads with perf for d and splits the samples;
// a split it could not make says why. It needs perf (Debian's linux-perf,
// scripts/bench-deps.sh) and leave to profile the process (root, or
// kernel.perf_event_paranoid ≤ 1).
func perfSplit(pid int, d time.Duration, dir string) cpuSplit {
	s, err := perfRecordSplit(pid, d, dir)
	if err != nil {
		progress("process %d: no CPU split: %v", pid, err)
		return cpuSplit{why: err.Error()}
	}
	return s
}

func perfRecordSplit(pid int, d time.Duration, dir string) (cpuSplit, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return cpuSplit{}, fmt.Errorf("perf is not installed (scripts/bench-deps.sh installs linux-perf)")
	}
	data := filepath.Join(dir, fmt.Sprintf("perf-%d.data", pid))
	defer os.Remove(data)
	rec := exec.Command("perf", "record", "-q", "-F", strconv.Itoa(splitHz), "-g", "-p", strconv.Itoa(pid), "-o", data,
		"--", "sleep", strconv.Itoa(int(d.Seconds())))
	if out, err := rec.CombinedOutput(); err != nil {
		return cpuSplit{}, fmt.Errorf("perf record: %v: %s", err, strings.TrimSpace(string(out)))
	}
	script := exec.Command("perf", "script", "-i", data)
	out, err := script.StdoutPipe()
	if err != nil {
		return cpuSplit{}, err
	}
	if err := script.Start(); err != nil {
		return cpuSplit{}, fmt.Errorf("perf script: %w", err)
	}
	s := splitSamples(bufio.NewScanner(out))
	if err := script.Wait(); err != nil {
		return cpuSplit{}, fmt.Errorf("perf script: %w", err)
	}
	if s.samples == 0 {
		return cpuSplit{}, fmt.Errorf("perf took no sample of process %d in %v", pid, d)
	}
	return s, nil
}

// splitSamples reads `perf script` output: a header line per sample
// ("comm tid time: period event:"), then its stack, leaf first, one
// "\taddr sym+off (dso)" line per frame, then a blank line.
func splitSamples(sc *bufio.Scanner) cpuSplit {
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	type sample struct {
		tid    string
		frames []frame
	}
	var all []sample
	var cur *sample
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			cur = nil
		case line[0] != '\t' && line[0] != ' ':
			f := strings.Fields(line)
			tid := ""
			for _, w := range f[1:] { // the first number after the command's name
				if _, err := strconv.Atoi(w); err == nil {
					tid = w
					break
				}
			}
			all = append(all, sample{tid: tid})
			cur = &all[len(all)-1]
		case cur != nil:
			f := strings.Fields(line)
			if len(f) < 3 {
				continue
			}
			sym := strings.Join(f[1:len(f)-1], " ")
			if i := strings.LastIndex(sym, "+0x"); i > 0 {
				sym = sym[:i]
			}
			dso := strings.Trim(f[len(f)-1], "()")
			cur.frames = append(cur.frames, frame{sym: sym, dso: filepath.Base(dso)})
		}
	}
	// A device thread is a thread that ran miniaudio: all its samples are
	// its (its sleeps in libc have no frame pointers to climb).
	device := map[string]bool{}
	for _, s := range all {
		for _, f := range s.frames {
			if strings.HasPrefix(f.sym, "ma_") || f.sym == "speaker_data" || f.sym == "capture_data" {
				device[s.tid] = true
			}
		}
	}
	out := cpuSplit{by: map[string]int{}}
	for _, s := range all {
		out.samples++
		out.by[classify(s.frames, device[s.tid])]++
	}
	return out
}

// classify says where a sample went, from its stack (leaf first).
func classify(frames []frame, deviceThread bool) string {
	if deviceThread {
		return whereDevice
	}
	if len(frames) == 0 {
		return whereUnknown
	}
	leaf := frames[0]
	inAny := func(pred func(frame) bool) bool { return slices.ContainsFunc(frames, pred) }
	switch {
	case strings.HasPrefix(leaf.dso, "libopus"):
		return whereCodec
	case strings.HasPrefix(leaf.dso, "libvpx"):
		return whereVideo
	case strings.HasPrefix(leaf.dso, "libyuv"):
		return whereConvert
	case inAny(func(f frame) bool { return strings.HasPrefix(f.dso, "ausine") || strings.Contains(f.sym, "/hw/synth.") }):
		return whereSource
	case strings.HasPrefix(leaf.dso, "libm."):
		// libm's frames have no frame pointers to climb to the caller. Its
		// sine is baresip's ausine's (one a sample; libopus calls sin and
		// cos only when set up: no sample of voipd's is in them); its
		// other functions (log, log10, exp, pow) libopus' analysis calls.
		if strings.Contains(leaf.sym, "sin") || strings.Contains(leaf.sym, "cos") {
			return whereSource
		}
		return whereCodec
	case leaf.dso == "[kernel.kallsyms]":
		for _, f := range frames {
			name, ok := strings.CutPrefix(f.sym, "__x64_sys_")
			if !ok {
				continue
			}
			switch name {
			case "sendto", "sendmsg", "sendmmsg":
				return whereSend
			case "recvfrom", "recvmsg", "recvmmsg", "read", "readv":
				return whereRecv
			case "epoll_pwait", "epoll_pwait2", "epoll_wait", "poll", "ppoll", "pselect6", "select", "futex",
				"nanosleep", "clock_nanosleep":
				return whereWait
			}
			return whereSyscall
		}
		return whereKernel
	case leaf.dso == "[vdso]" || strings.HasPrefix(leaf.dso, "libc."):
		return whereLibc
	case strings.HasPrefix(leaf.dso, "baresip") || strings.HasPrefix(leaf.dso, "libre.") ||
		strings.HasPrefix(leaf.dso, "librem.") || strings.HasSuffix(leaf.dso, ".so") && !strings.HasPrefix(leaf.dso, "lib"):
		return whereBaresip // the program, libre and its modules (opus.so's own glue too)
	case strings.HasPrefix(leaf.sym, "runtime.") || strings.HasPrefix(leaf.sym, "internal/runtime/") && !strings.HasPrefix(leaf.sym, "internal/runtime/syscall"):
		return whereRuntime
	case strings.HasPrefix(leaf.sym, "github.com/pion/") || strings.HasPrefix(leaf.sym, "crypto/") ||
		strings.HasPrefix(leaf.sym, "golang.org/x/crypto/"):
		return wherePion
	case strings.HasPrefix(leaf.sym, "github.com/voipd/voipd/"):
		return whereOwn
	case leaf.sym != "[unknown]":
		return whereOtherGo
	}
	return whereUnknown
}

// splitMarkdown is the report's table: each place's share of the samples
// times the process's CPU in its measured window, for voipd and baresip.
func splitMarkdown(voipd, baresip cpuSplit, voipdCPU, baresipCPU float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nWhere the CPU goes: perf's samples (%d Hz, %v, call stacks by frame pointers) of one voipd (voice-b)\n", splitHz, splitDuration)
	b.WriteString("and one baresip (B) right after their last windows, each sample put where its stack says, and its share\n")
	b.WriteString("times the process's CPU in its window (a share of perf's samples, so a part's figure moves with the\n")
	b.WriteString("window's). The codec's samples are libopus' and libm's log, log10, exp and pow, which libopus calls each\n")
	b.WriteString("frame; libm's sine is baresip's ausine's. A kernel sample is put by the system call it is under.\n\n")
	b.WriteString(splitTable([]splitColumn{{"voipd", voipd, voipdCPU}, {"baresip", baresip, baresipCPU}}))
	return b.String()
}

// splitColumn is one process's split in a table: its samples and its CPU
// (% of a core) in its measured window.
type splitColumn struct {
	who   string
	split cpuSplit
	cpu   float64
}

// splitTable is the table of where the CPU went, one column a process:
// each place's share of its samples times its CPU, places no process had
// left out, and why a process has no split.
func splitTable(cols []splitColumn) string {
	var b strings.Builder
	b.WriteString("| where |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %s, %% of a core |", c.who)
	}
	b.WriteString("\n| --- |" + strings.Repeat(" --- |", len(cols)) + "\n")
	for _, w := range whereOrder {
		if !slices.ContainsFunc(cols, func(c splitColumn) bool { return c.split.by[w] > 0 }) {
			continue
		}
		fmt.Fprintf(&b, "| %s |", w)
		for _, c := range cols {
			if c.split.why != "" {
				b.WriteString(" — |")
				continue
			}
			fmt.Fprintf(&b, " %.2f |", c.split.share(w)*c.cpu)
		}
		b.WriteString("\n")
	}
	b.WriteString("| samples |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %d |", c.split.samples)
	}
	b.WriteString("\n")
	for _, c := range cols {
		if c.split.why != "" {
			fmt.Fprintf(&b, "\nNo split of %s in this run: %s.\n", c.who, c.split.why)
		}
	}
	return b.String()
}
