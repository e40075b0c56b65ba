package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/voipd/voipd/internal/bench"
)

// cmdCall measures a two-member 640x480@30 video call with audio through
// roomd on loopback: two voipd processes, then two headless Chromium
// instances making the same call through the browser client; and voipd's
// garbage collection over a longer window of its call (gctrace).
func cmdCall(args []string) error {
	fs := newFlags("call")
	secs := fs.Int("seconds", 30, "measured window of each call")
	gcSecs := fs.Int("gc-seconds", 60, "window of voipd's GC trace (from the measured window's start)")
	settle := fs.Duration("settle", 3*time.Second, "wait after media flows before measuring")
	chromium := fs.Bool("chromium", true, "measure the Chromium call too")
	fs.Parse(args)
	d := time.Duration(*secs) * time.Second
	rm, err := startRoom(context.Background())
	if err != nil {
		return err
	}
	defer rm.srv.Close()
	dir, err := os.MkdirTemp("", "voipbench-call-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	vs, gcs, err := voipdCall(rm, dir, d, *settle, time.Duration(*gcSecs)*time.Second)
	if err != nil {
		return fmt.Errorf("voipd call: %w", err)
	}
	var cs []*member
	if *chromium {
		if cs, err = chromiumCall(rm, d, *settle); err != nil {
			return fmt.Errorf("chromium call: %w", err)
		}
	}
	cpu := func(m *member) float64 { return m.cpuPercent }
	pss := func(m *member) float64 { return float64(m.peak.PSSKiB) / 1024 }
	rss := func(m *member) float64 { return float64(m.peak.RSSKiB) / 1024 }
	fps := func(m *member) float64 { return m.fps }
	idle := func(m *member) float64 { return float64(m.idle.RSSKiB) / 1024 }
	peakOf := func(ms []*member, f func(*member) float64) float64 {
		v := math.NaN()
		for _, m := range ms {
			if math.IsNaN(v) || f(m) > v {
				v = f(m)
			}
		}
		return v
	}
	rows := []bench.Row{
		{What: "CPU of one member, mean of 2", Ours: mean(vs, cpu), Anchor: mean(cs, cpu), Unit: "% of a core", AName: "Chromium (process tree)", Goal: bench.Goal{Max: 0.5, Label: "≤ 0.5×"}},
		{What: "memory (peak PSS) of one member, mean of 2", Ours: mean(vs, pss), Anchor: mean(cs, pss), Unit: "MiB", AName: "Chromium (tree's PSS)", Goal: bench.Goal{Max: 0.1, Label: "≤ 0.1×"}},
		{What: "peak RSS of one member, mean of 2", Ours: mean(vs, rss), Anchor: mean(cs, rss), Unit: "MiB", AName: "Chromium (tree's RSS summed)"},
		{What: "peak RSS of either voipd in the call", Ours: peakOf(vs, rss), Anchor: math.NaN(), Unit: "MiB", Goal: bench.Goal{Max: 30, Label: "≤ 30 MiB"}},
		{What: "idle voipd RSS (started, not in a room), larger of 2", Ours: peakOf(vs, idle), Anchor: math.NaN(), Unit: "MiB", Goal: bench.Goal{Max: 15, Label: "≤ 15 MiB"}},
		{What: "video decoded from the other member", Ours: mean(vs, fps), Anchor: mean(cs, fps), Unit: "fps", AName: "Chromium"},
	}
	pin := "unpinned"
	if *clientCPU != "" {
		pin = fmt.Sprintf("the two clients pinned to CPU %s (taskset; Chromium's whole process tree, every thread), roomd and this driver on the other CPU", *clientCPU)
	}
	fmt.Printf("### Two-member video call (640x480@30 with audio, through roomd on loopback)\n\n")
	fmt.Printf("Each call: the two members join a video room on a roomd in the bench driver, media flows, %v settle,\n", *settle)
	fmt.Printf("then a %d s window: CPU is utime+stime from /proc/PID/stat over the window (for Chromium summed over\n", *secs)
	fmt.Printf("its process tree), memory the peak of 1 s samples of /proc/PID/smaps_rollup (Rss; Pss shares shared\n")
	fmt.Printf("pages among the processes mapping them, so a tree's PSS adds up). voipd: synthetic devices (tone:440,\n")
	fmt.Printf("null playback, pattern camera 640x480@30, VP8 800 kbit/s CBR, Opus 32 kbit/s). Chromium: the browser\n")
	fmt.Printf("client (roomd's web page) with its fake camera at 640x480@30 and fake microphone, headless. Placement: %s.\n\n", pin)
	if !*chromium {
		fmt.Printf("The Chromium call was not run (-chromium=false): no anchor figures.\n\n")
	}
	fmt.Print(bench.Table(rows))
	fmt.Printf("\nPer process: %s.\n", perProcess(append(vs, cs...)))
	if *clientCPU != "" && len(cs) > 0 {
		fmt.Printf("Both members of a call share CPU %s: the voipd pair used %.0f %% of it, the Chromium pair %.0f %% (the\n"+
			"video rates above show whether a pair was short of CPU).\n", *clientCPU, 2*mean(vs, cpu), 2*mean(cs, cpu))
	}

	fmt.Printf("\n### voipd's heap allocation and GC over a %d s video call\n\n", *gcSecs)
	fmt.Printf("From GODEBUG=gctrace=1 on the two voipd processes of the call above, the cycles from the measured\n")
	fmt.Printf("window's start for %d s. Allocation is estimated per cycle as the heap at its start less the previous\n", *gcSecs)
	fmt.Printf("cycle's live heap (the runtime prints whole MB, so each cycle's term is within ±1 MB). No goal, no anchor.\n\n")
	fmt.Printf("| process | GC cycles | cycles/min | heap allocated | allocation rate |\n| --- | --- | --- | --- | --- |\n")
	for i, g := range gcs {
		fmt.Printf("| %s | %d | %.1f | %.0f MB | %.2f MB/s |\n", vs[i].name, g.Cycles, g.CyclesPerMin, g.AllocatedMB, g.MBPerSecond)
	}
	return nil
}

func perProcess(ms []*member) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s %.1f %% CPU, RSS %.1f MiB, PSS %.1f MiB, %.1f fps in", m.name, m.cpuPercent,
			float64(m.peak.RSSKiB)/1024, float64(m.peak.PSSKiB)/1024, m.fps))
	}
	return strings.Join(parts, "; ")
}
