package main

import (
	"bufio"
	"math"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// The report's table: medians over the processes, voipd ÷ baresip, and the
// busiest threads with their usual system call; without baresip, why not.
func TestVoiceReport(t *testing.T) {
	v := []usageRate{
		{name: "voipd a", cpuPercent: 6, switchesPerS: 3000, threads: 10, peakRSSKiB: 20 * 1024},
		{name: "voipd b", cpuPercent: 8, switchesPerS: 3400, threads: 10, peakRSSKiB: 22 * 1024,
			threadsByRate: []threadRate{{"voipd", "futex", 2500}, {"voipd", "clock_nanosleep", 130}}},
	}
	b := []usageRate{{name: "baresip A", cpuPercent: 3.5, switchesPerS: 300, threads: 2, peakRSSKiB: 8 * 1024},
		{name: "baresip B", cpuPercent: 3.5, switchesPerS: 320, threads: 2, peakRSSKiB: 8 * 1024}}
	idle := []usageRate{{cpuPercent: 0, switchesPerS: 0}, {cpuPercent: 0.01, switchesPerS: 1}}
	codec := []codecCost{{percent: 1.5}, {percent: 2.5}}
	wake := []wakeCost{{byTimer: 40, byPipe: 30}, {byTimer: 50, byPipe: 20}}
	r := voiceReport(idle, v, b, codec, wake, "", 2, 30*time.Second)
	for _, want := range []string{
		"| CPU, % of a core | 7.00 | 3.50 | 2.00 |",
		"| the codec alone (encode + decode, 50 frames/s), % of a core | 2.00 | 2.00 | | the floor |",
		"| CPU beyond the codec, % of a core | 5.00 | 1.50 | 3.33 | |",
		"| context switches/s | 3200 | 310 | 10.32 |",
		"| threads | 10 | 2 | 5.00 |",
		"| idle voipd: CPU %, switches/s | 0.005, 0.5 |",
		"voipd (futex) 2500/s, voipd (clock_nanosleep) 130/s",
		// Medians 45 µs by a timer and 25 by a pipe; 3200 switches/s at
		// 25 and at 45 µs are 8 and 14.4 % of a core, 310 are 0.775 and
		// 1.395; beyond the codec less those: 5 − 14.4 … 5 − 8, 1.5 −
		// 1.395 … 1.5 − 0.775 (0.105 and 0.725 print as 0.10 and 0.72).
		"| a wakeup alone (a C thread doing nothing else, every 20 ms), µs of CPU: by a timer, by a pipe from the other CPU | 45.0, 25.0 | 45.0, 25.0 |",
		"| the context switches at that price, % of a core | 8.00–14.40 | 0.78–1.40 |",
		"| CPU beyond the codec and the switches' price, % of a core | -9.40–-3.00 | 0.10–0.72 |",
		"voipd's 3200 context switches a second at the price of a bare wakeup come to 10.00–16.40 % of a core",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("the report lacks %q:\n%s", want, r)
		}
	}
	if r := voiceReport(idle, v, nil, nil, nil, "baresip is not installed", 1, time.Second); !strings.Contains(r, "baresip: baresip is not installed.") ||
		!strings.Contains(r, "| CPU, % of a core | 7.00 | NaN | — |") || strings.Contains(r, "a wakeup alone") {
		t.Errorf("without baresip or a wakeup's price:\n%s", r)
	}
	// One CPU: the timer's price alone, one figure, not a span.
	r = voiceReport(idle, v, b, codec, []wakeCost{{byTimer: 40}}, "", 1, time.Second)
	if !strings.Contains(r, "| the context switches at that price, % of a core | 12.80 | 1.24 |") {
		t.Errorf("with the timer's price alone:\n%s", r)
	}
}

// An execution trace's parsed events, summarized per second: P wakeups,
// goroutine wakeups by their waker, calls by site, calls that lost their P,
// and goroutines woken by no goroutine by where they waited.
func TestSummarizeTrace(t *testing.T) {
	parsed := `M=1 P=-1 G=-1 Sync Time=1000000000 N=1
M=1 P=0 G=-1 StateTransition Time=1000000000 ProcID=0 Idle->Running Reason=""
M=1 P=0 G=5 StateTransition Time=1100000000 GoID=7 Waiting->Runnable Reason=""
Stack=
	runtime.ready @ 0x1
		/usr/local/go/src/runtime/proc.go:1
	github.com/pion/srtp/v3.(*session).start.func1 @ 0x2
		/x/session.go:1
M=1 P=0 G=7 StateTransition Time=1200000000 GoID=7 Running->Syscall Reason=""
Stack=
	syscall.Syscall @ 0x3
		/s.go:1
	github.com/hraban/opus._Cfunc_opus_encode @ 0x4
		/e.go:1
M=2 P=1 G=7 StateTransition Time=1300000000 GoID=7 Syscall->Runnable Reason=""
Stack=
M=1 P=0 G=9 StateTransition Time=1400000000 GoID=9 Running->Waiting Reason="chan receive"
Stack=
	runtime.gopark @ 0x5
		/usr/local/go/src/runtime/proc.go:2
	net.(*netFD).Read @ 0x6
		/n.go:1
	github.com/voipd/voipd/hw/audio.(*waker).wait @ 0x7
		/w.go:1
M=1 P=0 G=-1 StateTransition Time=1500000000 GoID=9 Waiting->Runnable Reason=""
Stack=
M=1 P=0 G=-1 StateTransition Time=1600000000 GoID=11 Waiting->Runnable Reason=""
Stack=
M=1 P=0 G=-1 StateTransition Time=3000000000 ProcID=0 Idle->Running Reason=""
`
	s := summarizeTrace(parsed)
	if s.seconds != 2 || s.procWakeups != 1 || s.goWakeups != 1.5 || s.calls != 0.5 || s.lostP != 0.5 || s.unprompted != 1 {
		t.Fatalf("summary %+v", s)
	}
	if !slices.ContainsFunc(s.topWakers, func(r siteRate) bool {
		return r.site == "github.com/pion/srtp/v3.(*session).start.func1" && r.perSecond == 0.5
	}) || s.topCalls[0].site != "github.com/hraban/opus._Cfunc_opus_encode" ||
		s.topLostBy[0].site != "github.com/hraban/opus._Cfunc_opus_encode" {
		t.Errorf("sites %+v %+v %+v", s.topWakers, s.topCalls, s.topLostBy)
	}
	md := s.markdown()
	// Woken by no goroutine: 9 where it waited (past net's frames), 11
	// blocked before the trace began.
	for _, want := range []string{"its Ps woken from\nidle 1 times", "`github.com/hraban/opus._Cfunc_opus_encode` 0",
		"woken by no goroutine (a packet or a C callback's eventfd through the poller, or a timer) 1.0 times",
		"chan receive `github.com/voipd/voipd/hw/audio.(*waker).wait` 0.5", "`(blocked before the trace)` 0.5"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if summarizeTrace("").markdown() != "" {
		t.Error("an empty trace summarized")
	}
}

// The codec floor encodes and decodes the tone in real time and counts
// the CPU time of both calls.
func TestCodecFloor(t *testing.T) {
	c, err := codecFloor(300 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if c.percent <= 0 || c.encodeUs <= 0 || c.decodeUs <= 0 {
		t.Errorf("codec floor %+v: every figure should be above 0", c)
	}
}

// The video call's floor VP8-encodes the pattern camera's frames as they
// come due and counts the encode calls' CPU time.
func TestVideoFloor(t *testing.T) {
	c, err := videoFloor(300 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if !c.video || c.videoPercent <= 0 || c.vp8Us <= 0 || c.percent != 0 {
		t.Errorf("video floor %+v: want video's figures above 0 and no audio's", c)
	}
	if c.total() != c.videoPercent {
		t.Errorf("total %v of %+v", c.total(), c)
	}
}

// The wakeup anchor (internal/bench/anchor/wakeup.c, built as
// scripts/bench.sh builds it) prices a wakeup both ways, above nothing.
func TestWakeupAnchor(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "wakeup")
	if out, err := exec.Command("gcc", "-O2", "-Wall", "-pthread", "-o", prog, "../../anchor/wakeup.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	w, err := wakeupChild(prog, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !(w.byTimer > 0) || w.byPipe < 0 || (runtime.NumCPU() > 1 && !(w.byPipe > 0)) {
		t.Errorf("a wakeup by a timer %v µs, by a pipe %v µs: want both above 0 (the pipe's may be 0 on one CPU)", w.byTimer, w.byPipe)
	}
}

// The wakeup anchor's line is read back, and a line of the wrong
// shape is an error, not zeros.
func TestParseWakeupLine(t *testing.T) {
	w, err := parseWakeupLine("wakeup 36.41 31.20\n")
	if err != nil || w.byTimer != 36.41 || w.byPipe != 31.2 {
		t.Errorf("%+v, %v", w, err)
	}
	if w, err := parseWakeupLine("wakeup 36.41 0"); err != nil || w.byPipe != 0 {
		t.Errorf("one CPU: %+v, %v", w, err)
	}
	for _, bad := range []string{"wakeup 0 31", "wakeup 36", "wakeup x 3", "wakeup 36 -1", "codec 1 2", ""} {
		if w, err := parseWakeupLine(bad); err == nil {
			t.Errorf("%q read as %+v", bad, w)
		}
	}
}

// The codec subcommand's line is read back with or without video, and a
// line of the wrong shape is an error, not zeros.
func TestParseCodecLine(t *testing.T) {
	c, err := parseCodecLine("codec 1.6565 299.92 31.39\n", false)
	if err != nil || c.percent != 1.6565 || c.encodeUs != 299.92 || c.decodeUs != 31.39 || c.video || c.total() != 1.6565 {
		t.Errorf("audio line: %+v, %v", c, err)
	}
	c, err = parseCodecLine("codec 1.5 290 30 9.25 3083.3", true)
	if err != nil || !c.video || c.videoPercent != 9.25 || c.vp8Us != 3083.3 || c.total() != 10.75 {
		t.Errorf("video line: %+v, %v", c, err)
	}
	for _, bad := range []struct {
		line  string
		video bool
	}{{"codec 1.5 290 30", true}, {"codec 1.5 290 30 9.25 3083.3", false}, {"codec x 290 30", false}, {"vp8 1 2 3", false}, {"", false}} {
		if c, err := parseCodecLine(bad.line, bad.video); err == nil {
			t.Errorf("%q (video %v) read as %+v", bad.line, bad.video, c)
		}
	}
}

// perf script's samples put where their stacks say: libopus (and libm's
// log under it) is the codec, libm's sine the synthetic source, a thread that ran miniaudio is the device
// thread, a kernel sample goes by its system call, Go code by its package,
// baresip's by its object; the table is shares times the window's CPU.
func TestSplitSamples(t *testing.T) {
	script := `voipd 100 12137.633197:     200040 cpu-clock:ppp: 
	           5a96a runtime.casgstatus+0x8a (/tmp/vb/bin/voipd)
	           5ee09 runtime.findRunnable+0xde9 (/tmp/vb/bin/voipd)

voipd 100 12137.634367:     200040 cpu-clock:ppp: 
	           2b95c [unknown] (/usr/lib/x86_64-linux-gnu/libopus.so.0.8.0)
	e6ace7dae91bea70 [unknown] ([unknown])

voipd 100 12137.634368:     200040 cpu-clock:ppp: 
	           2b95c __ieee754_log_fma+0x12 (/usr/lib/x86_64-linux-gnu/libm.so.6)

voipd 100 12137.634767:     200040 cpu-clock:ppp: 
	ffffffff816229b5 is_vmalloc_addr+0x5 ([kernel.kallsyms])
	ffffffff81e78840 __x64_sys_sendto+0x20 ([kernel.kallsyms])
	            ec0e internal/runtime/syscall/linux.Syscall6+0xe (/tmp/vb/bin/voipd)
	          50e59b github.com/voipd/voipd/internal/rawudp.(*Conn).send+0x5b (/tmp/vb/bin/voipd)

voipd 100 12137.634800:     200040 cpu-clock:ppp: 
	ffffffff816229b5 finish_task_switch.isra.0+0x5 ([kernel.kallsyms])
	ffffffff81e78840 __x64_sys_epoll_pwait+0x20 ([kernel.kallsyms])

voipd 100 12137.634900:     200040 cpu-clock:ppp: 
	ffffffff816229b5 __do_softirq+0x5 ([kernel.kallsyms])

voipd 100 12137.635000:     200040 cpu-clock:ppp: 
	          5a4186 github.com/voipd/voipd/hw/synth.(*Tone).fill+0x26 (/tmp/vb/bin/voipd)

voipd 100 12137.635100:     200040 cpu-clock:ppp: 
	          5a4186 github.com/pion/srtp/v3.(*Context).encryptRTP+0x26 (/tmp/vb/bin/voipd)

voipd 100 12137.635200:     200040 cpu-clock:ppp: 
	          5a4186 crypto/internal/fips140/aes.encryptBlockAsm.abi0+0x26 (/tmp/vb/bin/voipd)

voipd 100 12137.635300:     200040 cpu-clock:ppp: 
	          5a4186 github.com/voipd/voipd/media/pipeline.(*inbound).mixInto+0x26 (/tmp/vb/bin/voipd)

voipd 100 12137.635400:     200040 cpu-clock:ppp: 
	          5a4186 sync.(*Pool).pin+0x26 (/tmp/vb/bin/voipd)

voipd 100 12137.635500:     200040 cpu-clock:ppp: 
	          5a4186 clock_gettime@@GLIBC_2.17+0x26 (/usr/lib/x86_64-linux-gnu/libc.so.6)

voipd 107 12137.635600:     200040 cpu-clock:ppp: 
	ffffffff816229b5 finish_task_switch.isra.0+0x5 ([kernel.kallsyms])
	ffffffff81e78840 __x64_sys_clock_nanosleep+0x20 ([kernel.kallsyms])

voipd 107 12137.635700:     200040 cpu-clock:ppp: 
	           21000 ma_device_write__null+0x10 (/tmp/vb/bin/voipd)

baresip 200 12137.635800:     200040 cpu-clock:ppp: 
	           21000 aubuf_read+0x10 (/usr/lib/x86_64-linux-gnu/libre.so.2)

baresip 200 12137.635900:     200040 cpu-clock:ppp: 
	           21000 __sin_fma+0x10 (/usr/lib/x86_64-linux-gnu/libm.so.6)
	 b000b00075b075b [unknown] ([unknown])
`
	s := splitSamples(bufio.NewScanner(strings.NewReader(script)))
	want := map[string]int{whereRuntime: 1, whereCodec: 2, whereSend: 1, whereWait: 1, whereKernel: 1, whereSource: 2,
		wherePion: 2, whereOwn: 1, whereOtherGo: 1, whereLibc: 1, whereDevice: 2, whereBaresip: 1}
	if s.samples != 16 {
		t.Errorf("%d samples, want 16", s.samples)
	}
	for w, n := range want {
		if s.by[w] != n {
			t.Errorf("%q: %d samples, want %d (all: %v)", w, s.by[w], n, s.by)
		}
	}
	v := cpuSplit{samples: 4, by: map[string]int{whereCodec: 2, whereSend: 1, whereRuntime: 1}}
	b := cpuSplit{samples: 2, by: map[string]int{whereCodec: 1, whereBaresip: 1}}
	md := splitMarkdown(v, b, 3.2, 3.6)
	for _, w := range []string{"| the codec (libopus) | 1.60 | 1.80 |", "| " + whereSend + " | 0.80 | 0.00 |",
		"| " + whereBaresip + " | 0.00 | 1.80 |", "| samples | 4 | 2 |"} {
		if !strings.Contains(md, w) {
			t.Errorf("the table lacks %q:\n%s", w, md)
		}
	}
	if strings.Contains(md, whereUnknown) {
		t.Errorf("a place with no sample on either side is a row:\n%s", md)
	}
	if md := splitMarkdown(v, cpuSplit{why: "baresip is not installed"}, 3.2, 0); !strings.Contains(md, "| the codec (libopus) | 1.60 | — |") ||
		!strings.Contains(md, "No split of baresip in this run: baresip is not installed.") {
		t.Errorf("without baresip:\n%s", md)
	}
}

// A video call's member: libvpx's samples are the video codec, libyuv's
// pixel conversion, the pattern camera's drawing a synthetic device; the
// table has one column.
func TestSplitVideoCall(t *testing.T) {
	for _, c := range []struct {
		frames []frame
		want   string
	}{
		{[]frame{{"[unknown]", "libvpx.so.7.1.0"}, {"vp8_enc_encode", "voipd"}}, whereVideo},
		{[]frame{{"I420Scale", "libyuv.so.0"}}, whereConvert},
		{[]frame{{"github.com/voipd/voipd/hw/synth.fill", "voipd"}, {"github.com/voipd/voipd/hw/synth.(*Pattern).draw", "voipd"}}, whereSource},
	} {
		if got := classify(c.frames, false); got != c.want {
			t.Errorf("%v: %q, want %q", c.frames, got, c.want)
		}
	}
	s := cpuSplit{samples: 10, by: map[string]int{whereVideo: 6, whereCodec: 1, whereSource: 1, wherePion: 2}}
	if got := inCallBeyond(s, 15); math.Abs(got-4.5) > 1e-9 {
		t.Errorf("beyond the codecs in the call: %v %% of a core, want 4.5 (15 less 7 samples in 10)", got)
	}
	md := splitTable([]splitColumn{{"voipd bench-b", s, 15}})
	for _, w := range []string{"| where | voipd bench-b, % of a core |\n| --- | --- |\n", "| " + whereVideo + " | 9.00 |",
		"| the codec (libopus) | 1.50 |", "| " + whereSource + " | 1.50 |", "| samples | 10 |"} {
		if !strings.Contains(md, w) {
			t.Errorf("the table lacks %q:\n%s", w, md)
		}
	}
	if md := splitTable([]splitColumn{{"voipd bench-b", cpuSplit{why: "perf is not installed"}, 15}}); !strings.Contains(md, "No split of voipd bench-b in this run: perf is not installed.") {
		t.Errorf("without a split:\n%s", md)
	}
}
