package main

import (
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
	r := voiceReport(idle, v, b, codec, "", 2, 30*time.Second)
	for _, want := range []string{
		"| CPU, % of a core | 7.00 | 3.50 | 2.00 |",
		"| the codec alone (encode + decode, 50 frames/s), % of a core | 2.00 | 2.00 | | the floor |",
		"| CPU beyond the codec, % of a core | 5.00 | 1.50 | 3.33 | |",
		"| context switches/s | 3200 | 310 | 10.32 |",
		"| threads | 10 | 2 | 5.00 |",
		"| idle voipd: CPU %, switches/s | 0.005, 0.5 |",
		"voipd (futex) 2500/s, voipd (clock_nanosleep) 130/s",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("the report lacks %q:\n%s", want, r)
		}
	}
	if r := voiceReport(idle, v, nil, nil, "baresip is not installed", 1, time.Second); !strings.Contains(r, "baresip: baresip is not installed.") ||
		!strings.Contains(r, "| CPU, % of a core | 7.00 | NaN | — |") {
		t.Errorf("without baresip:\n%s", r)
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
