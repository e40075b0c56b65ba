package main

import (
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/voipd/voipd/internal/bench"
)

// cmdCall measures a two-member 640x480@30 video call with audio through
// roomd on loopback: two voipd processes, then two headless Chromium
// instances making the same call through the browser client; and voipd's
// heap allocation and garbage collection over a longer window of its call,
// beside the same call with voipd as built before its allocation work.
func cmdCall(args []string) error {
	fs := newFlags("call")
	secs := fs.Int("seconds", 30, "measured window of each call")
	gcSecs := fs.Int("gc-seconds", 60, "window of voipd's allocation and GC figures (from the measured window's start)")
	before := fs.String("before", defaultBefore, "commit whose voipd makes the before call (built in a temporary git worktree); empty: none")
	settle := fs.Duration("settle", 3*time.Second, "wait after media flows before measuring")
	chromium := fs.Bool("chromium", true, "measure the Chromium call too")
	fs.Parse(args)
	d := time.Duration(*secs) * time.Second
	rm, dir, done, err := roomAndDir("voipbench-call-")
	if err != nil {
		return err
	}
	defer done()

	gcFor := time.Duration(*gcSecs) * time.Second
	traceTo := filepath.Join(dir, "call.trace")
	vs, allocs, err := voipdCall(rm, dir, *binDir, d, *settle, gcFor, true, traceTo)
	if err != nil {
		return fmt.Errorf("voipd call: %w", err)
	}
	// The codecs alone, on the members' CPU for as long as the window: the
	// floor each member's call stands on (issue 19: the video call's
	// overhead beyond libvpx and libopus).
	floor, err := codecChild(d, true)
	if err != nil {
		return fmt.Errorf("the codecs alone: %w", err)
	}
	old := beforeCall(rm, dir, *before, d, *settle, gcFor)
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
	sw := func(m *member) float64 { return m.switches }
	th := func(m *member) float64 { return float64(m.threads) }
	idle := func(m *member) float64 { return float64(m.idle.RSSKiB) / 1024 }
	left := func(m *member) float64 { return float64(m.left.RSSKiB) / 1024 }
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
		{What: "voipd RSS 3 s after leaving the call (idle again), larger of 2", Ours: peakOf(vs, left), Anchor: math.NaN(), Unit: "MiB", Goal: bench.Goal{Max: 15, Label: "≤ 15 MiB (idle)"}},
		{What: "video from the other member (voipd: complete frames received, it decodes none; Chromium: frames decoded)", Ours: mean(vs, fps), Anchor: mean(cs, fps), Unit: "fps", AName: "Chromium"},
		{What: "the codecs alone, paced as in the call (VP8 encode 640x480@30 at 800 kbit/s; Opus encode and decode, 50 frames/s each)", Ours: floor.total(), Anchor: math.NaN(), Unit: "% of a core"},
		{What: "CPU of one member beyond the codecs alone, mean of 2", Ours: mean(vs, cpu) - floor.total(), Anchor: math.NaN(), Unit: "% of a core"},
		{What: "context switches of one member (all its threads: wakeups and preemptions), mean of 2", Ours: mean(vs, sw), Anchor: mean(cs, sw), Unit: "/s", AName: "Chromium (process tree)"},
		{What: "threads of one member, mean of 2", Ours: mean(vs, th), Anchor: mean(cs, th), Unit: "", AName: "Chromium (process tree)"},
	}
	if len(vs) > 1 && vs[1].split != nil && vs[1].split.why == "" {
		m := vs[1]
		rows = slices.Insert(rows, slices.IndexFunc(rows, func(r bench.Row) bool { return strings.HasPrefix(r.What, "context switches") }),
			bench.Row{What: "CPU of " + m.name + " beyond the codecs in the call (perf's samples, below)", Ours: inCallBeyond(*m.split, m.cpuPercent), Anchor: math.NaN(), Unit: "% of a core"})
	}
	pin := "unpinned"
	if *clientCPU != "" {
		pin = fmt.Sprintf("the two clients pinned to CPU %s (taskset; Chromium's whole process tree, every thread), roomd and this driver on the other CPU", *clientCPU)
	}
	fmt.Printf("### Two-member video call (640x480@30 with audio, through roomd on loopback)\n\n")
	fmt.Printf("Each call: the two members join a video room on a roomd in the bench driver, media flows, %v settle,\n", *settle)
	fmt.Printf("then a %d s window: CPU is utime+stime from /proc/PID/stat over the window (for Chromium summed over\n", *secs)
	fmt.Printf("its process tree), memory the peak of 1 s samples of /proc/PID/smaps_rollup (Rss; Pss shares shared\n")
	fmt.Printf("pages among the processes mapping them, so a tree's PSS adds up). voipd's binary leaves the page cache\n")
	fmt.Printf("before its members start, so its pages come back as after a reboot (a just-linked binary sits in the\n")
	fmt.Printf("cache in 2 MiB folios the kernel maps whole: 6-8 MiB more RSS for the same code). voipd: synthetic devices (tone:440,\n")
	fmt.Printf("miniaudio's null backend as the speaker, pattern camera 640x480@30, VP8 800 kbit/s CBR, Opus 32 kbit/s). Chromium: the browser\n")
	fmt.Printf("client (roomd's web page) with its fake camera at 640x480@30 and fake microphone, headless. Placement: %s.\n", pin)
	fmt.Printf("Both voipds serve Prometheus metrics (`[metrics] listen`), which the bench scrapes every %v from before the\n", metricsScrape)
	fmt.Printf("join to the end: voipd's figures include what metrics cost.\n")
	fmt.Printf("The codecs alone are `voipbench codec -video` on the members' CPU for as long as the window, after the\n")
	fmt.Printf("voipd call: the pattern camera's frames (\"pattern:bench-a\", as the call's first member sends) VP8-encoded\n")
	fmt.Printf("with voipd's video settings as they come due, and the tone Opus-encoded and decoded at 20 ms, each on its\n")
	fmt.Printf("own thread, counting the threads' CPU time in the codec calls only (VP8 %.2f %% of a core, %.0f µs a frame;\n", floor.videoPercent, floor.vp8Us)
	fmt.Printf("Opus %.2f %%). A member decodes no video (it forwards nothing and shows nothing), so the floor has no VP8\n", floor.percent)
	fmt.Printf("decode; beyond the codecs is the rest: capture, packets, pion, the runtime, the speaker. That difference\n")
	fmt.Printf("is of two figures measured apart, each to a few tenths: the row after it takes the codecs' share of\n")
	fmt.Printf("perf's samples of one member in the call instead (their caches as cold as the call leaves them, and its\n")
	fmt.Printf("own pattern: each member's differs). Chromium's codecs are inside its binary and its call decodes and\n")
	fmt.Printf("renders video too: its CPU is not split.\n\n")
	if !*chromium {
		fmt.Printf("The Chromium call was not run (-chromium=false): no anchor figures.\n\n")
	}
	fmt.Print(bench.Table(rows))
	fmt.Printf("\nPer process: %s.\n", perProcess(append(vs, cs...)))
	for _, m := range vs {
		if p := m.peakParts; p.ExeKiB+p.LibsKiB+p.AnonKiB > 0 {
			fmt.Printf("%s's RSS at its peak sample: %.1f MiB of its own executable's file pages, %.1f MiB of shared\n"+
				"libraries, %.1f MiB anonymous (Go heap and stacks, and libvpx's encoder: see \"VP8 speed\" for its size).\n",
				m.name, float64(p.ExeKiB)/1024, float64(p.LibsKiB)/1024, float64(p.AnonKiB)/1024)
		}
	}
	if *clientCPU != "" && len(cs) > 0 {
		fmt.Printf("Both members of a call share CPU %s: the voipd pair used %.0f %% of it, the Chromium pair %.0f %% (the\n"+
			"video rates above show whether a pair was short of CPU).\n", *clientCPU, 2*mean(vs, cpu), 2*mean(cs, cpu))
	}
	if out, err := exec.Command("go", "tool", "trace", "-d=parsed", traceTo).Output(); err != nil {
		progress("go tool trace: %v", err)
	} else {
		fmt.Print(summarizeTrace(string(out)).markdown())
	}
	if len(vs) > 1 && vs[1].split != nil {
		m := vs[1]
		fmt.Printf("\nWhere one member's CPU goes: perf's samples (%d Hz, %v, call stacks by frame pointers) of %s\n", splitHz, splitDuration, m.name)
		fmt.Printf("after the windows, each sample put where its stack says (as the voice call's, below), and its share\n")
		fmt.Printf("times the member's CPU in its window (%.1f %% of a core). The codecs alone, paced, were VP8 %.2f %% and\n", m.cpuPercent, floor.videoPercent)
		fmt.Printf("Opus %.2f %% of a core: the codec rows above them are the same work in the call.\n\n", floor.percent)
		fmt.Print(splitTable([]splitColumn{{m.name, *m.split, m.cpuPercent}}))
	}

	allocReport(vs, allocs, old, *gcSecs, *before)
	return nil
}

// inCallBeyond is a member's CPU (% of a core) less its samples' share in
// libopus and libvpx: the CPU beyond the codecs as the call itself spends
// it.
func inCallBeyond(s cpuSplit, cpu float64) float64 {
	return cpu * (1 - s.share(whereCodec) - s.share(whereVideo))
}

// defaultBefore is the last commit before voipd's allocation work with
// video calls and this bench: its child 1766e7f brought the allocation-free
// NACK responder (pion's allocated 4 times per packet and 15 per resend),
// cfcd2fb roomd's forwarding through reused packets.
const defaultBefore = "8a4ae71"

func perProcess(ms []*member) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s %.1f %% CPU, RSS %.1f MiB, PSS %.1f MiB, %.1f fps in, %.0f switches/s on %d threads", m.name, m.cpuPercent,
			float64(m.peak.RSSKiB)/1024, float64(m.peak.PSSKiB)/1024, m.fps, m.switches, m.threads))
	}
	return strings.Join(parts, "; ")
}

// allocReport is the section on voipd's heap allocation and GC over its
// call: runtime/metrics for this build, and this build beside the before
// build on the counters both can be read by.
func allocReport(vs []*member, now []allocWindow, old before, secs int, rev string) {
	fmt.Printf("\n### voipd's heap allocation and GC over a %d s video call\n\n", secs)
	fmt.Printf("The two voipd processes of the call above, from the measured window's start for %d s: `status.runtime`\n", secs)
	fmt.Printf("(runtime/metrics: /gc/heap/allocs:bytes, /gc/heap/allocs:objects, /gc/cycles/total:gc-cycles) read over\n")
	fmt.Printf("the control socket at the window's start and end, rated over the process's own uptime between them.\n\n")
	fmt.Printf("| process | heap allocated | allocation rate | objects allocated | GC cycles | GC cycles/min |\n| --- | --- | --- | --- | --- | --- |\n")
	for i, w := range now {
		if m := w.metrics; m != nil {
			fmt.Printf("| %s | %.1f MiB | %.3f MiB/s | %.0f /s | %.0f | %.1f |\n", vs[i].name, m.MiB, m.MiBPerSecond, m.ObjectsPerSecond, m.Cycles, m.CyclesPerMin)
		} else {
			fmt.Printf("| %s | — | — | — | — | — (no status.runtime) |\n", vs[i].name)
		}
	}

	speakerReport(vs, now)

	fmt.Printf("\n#### Before the allocation work\n\n")
	if old.missing != "" {
		fmt.Printf("The same call with voipd as built at %s: %s.\n", rev, old.missing)
		return
	}
	why := ""
	if rev == defaultBefore {
		why = ", the last commit before the allocation-free NACK responder (1766e7f) and roomd's reused packets (cfcd2fb)"
	}
	fmt.Printf("The same call, the same window and the same config with voipd built at %s%s, in a temporary git\n", old.commit, why)
	fmt.Printf("worktree, through the same roomd (this build's, in the bench driver: roomd's allocation is not in these\n")
	fmt.Printf("figures). That voipd has no `status.runtime`, so both builds are compared on the runtime's counters read\n")
	fmt.Printf("the one way both builds have, unchanged: runtime.MemStats at the end of debug.pprof's allocs profile\n")
	fmt.Printf("(`debug.pprof` on loopback in both configs). Its TotalAlloc and NumGC are the counters behind\n")
	fmt.Printf("/gc/heap/allocs:bytes and /gc/cycles/total:gc-cycles; its Mallocs also counts each tiny (< 16 B)\n")
	fmt.Printf("allocation, which /gc/heap/allocs:objects counts by block. GODEBUG=gctrace=1's estimate, for both\n")
	fmt.Printf("builds, is the cross-check below. The ratio is this build ÷ the before build (lower is better). The\n")
	fmt.Printf("before build also lacks the cap on its video bitrate (video.bitrate became a ceiling later), so it\n")
	fmt.Printf("may send more packets (the sent column): the per-packet row compares the builds at their own rates.\n\n")
	aname := "voipd at " + old.commit
	var rows []bench.Row
	for i, w := range now {
		if i >= len(old.allocs) {
			break
		}
		o := old.allocs[i]
		perPacket := func(w allocWindow) float64 { return w.memstats.MiBPerSecond * (1 << 20) / w.packetsPerSecond }
		rows = append(rows,
			bench.Row{What: vs[i].name + ": allocation rate", Ours: w.memstats.MiBPerSecond, Anchor: o.memstats.MiBPerSecond, Unit: "MiB/s", AName: aname},
			bench.Row{What: vs[i].name + ": heap allocations (Mallocs)", Ours: w.memstats.ObjectsPerSecond, Anchor: o.memstats.ObjectsPerSecond, Unit: "/s", AName: aname},
			bench.Row{What: vs[i].name + ": GC cycles", Ours: w.memstats.CyclesPerMin, Anchor: o.memstats.CyclesPerMin, Unit: "/min", AName: aname},
			bench.Row{What: vs[i].name + ": heap allocated per RTP packet sent or received", Ours: perPacket(w), Anchor: perPacket(o), Unit: "B", AName: aname},
		)
	}
	fmt.Print(bench.Table(rows))
	fmt.Printf("\n| process | build | sent | RTP packets/s | video in | heap allocated | GC cycles | gctrace estimate | gctrace cycles |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	line := func(m *member, build string, w allocWindow) {
		fmt.Printf("| %s | %s | %.0f kbit/s | %.0f | %.1f fps | %.1f MiB | %.0f | %.2f MiB/s | %d |\n", m.name, build, w.sentKbps,
			w.packetsPerSecond, m.fps, w.memstats.MiB, w.memstats.Cycles, w.gctrace.MBPerSecond, w.gctrace.Cycles)
	}
	for i := range now {
		line(vs[i], "this", now[i])
		if i < len(old.allocs) {
			line(old.ms[i], old.commit, old.allocs[i])
		}
	}
	fmt.Printf("\nVideo in is over the measured window above, the rest over the %d s window. gctrace's estimate is, per cycle,\n", secs)
	fmt.Printf("the heap at its start less the previous cycle's live heap, in whole MB as the runtime prints them.\n")
	var kib []string
	for i, w := range now {
		kib = append(kib, fmt.Sprintf("%s %.0f KiB", vs[i].name, w.readingKiB))
	}
	for i, w := range old.allocs {
		kib = append(kib, fmt.Sprintf("%s at %s %.0f KiB", old.ms[i].name, old.commit, w.readingKiB))
	}
	fmt.Printf("The readings allocate in voipd too (status's and getStats' JSON, the profile's text), once in each window:\n")
	fmt.Printf("one reading, measured by a second right after the window's, took %s.\n", strings.Join(kib, ", "))
}

// speakerReport prints how late the speaker's callbacks ran in the call
// and the underruns: the callback is C (hw/audio) and plays from a ring Go
// fills, so Go falling behind (each voipd here shares one CPU with the
// other and encodes VP8) shows as underruns.
func speakerReport(vs []*member, now []allocWindow) {
	fmt.Printf("\n#### Audio callbacks under the call's load\n\n")
	fmt.Printf("Each voipd's speaker is miniaudio's null backend (paced 20 ms periods through malgo; the callback is C\n")
	fmt.Printf("on miniaudio's thread, playing from a ring Go fills): `status.devices.playback.callbacks` after the window,\n")
	fmt.Printf("since the device opened at the join. Lateness is against the device clock (the samples handed over so\n")
	fmt.Printf("far); \"late\" counts callbacks more than one period behind it; underruns are\n")
	fmt.Printf("`status.devices.playback.dropped`, periods the speaker played as silence for want of audio queued:\n")
	fmt.Printf("where Go falling behind shows.\n\n")
	fmt.Printf("| process | callbacks | more than one period late | worst lateness | underruns |\n| --- | --- | --- | --- | --- |\n")
	for i, w := range now {
		if w.speaker == nil {
			fmt.Printf("| %s | — (not a malgo device) | — | — | — |\n", vs[i].name)
			continue
		}
		fmt.Printf("| %s | %.0f | %.0f | %.1f ms | %.0f |\n", vs[i].name, w.speaker.count, w.speaker.late, w.speaker.worstMs, w.speaker.underruns)
	}
}
