package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/voipd/voipd/internal/bench"
)

// The voice subcommand: issue 19's figures. A two-member voice call of
// voipd processes (20 ms Opus, the synthetic tone, miniaudio's null
// speaker, through roomd on loopback) beside the same call between two
// baresip instances (internal/bench/anchor/baresip.sh), in turns in one
// run: each process's CPU, context switches (all its threads, voluntary
// and not: its wakeups and preemptions), threads and RSS; where voipd's
// switches are, by thread; and an idle voipd's wakeups.

// usageRate is one process's usage over a window.
type usageRate struct {
	name          string
	cpuPercent    float64 // of one core
	switchesPerS  float64
	threads       int
	peakRSSKiB    int
	threadsByRate []threadRate // voipd: its busiest threads
	// voipd: its speaker's underruns and callbacks more than a period
	// late over the window (status' devices.playback); speakerKnown when
	// status had them.
	speakerUnderruns, speakerLate float64
	speakerKnown                  bool
}

type threadRate struct {
	name, wait string // wait: the system call it was in most often
	perSecond  float64
}

// measureWindow samples pids' trees every second for d and returns their
// rates over it.
func measureWindow(names []string, pids []int, d time.Duration) ([]usageRate, error) {
	u0 := make([]bench.Usage, len(pids))
	t0s := make([][]bench.Thread, len(pids))
	out := make([]usageRate, len(pids))
	for i, pid := range pids {
		u, err := bench.TreeUsage("/proc", pid)
		if err != nil {
			return nil, err
		}
		u0[i] = u
		out[i] = usageRate{name: names[i], peakRSSKiB: u.RSSKiB}
		if t0s[i], err = bench.Threads("/proc", pid); err != nil {
			return nil, err
		}
	}
	// Each thread's system call, sampled every 200 ms: a thread's usual
	// one says what it is (Go's sysmon sleeps in nanosleep, C threads in
	// clock_nanosleep, parked Go threads in futex, the poller in
	// epoll_pwait).
	waits := make([]map[int]map[int]int, len(pids)) // process, tid, syscall: samples
	for i := range waits {
		waits[i] = map[int]map[int]int{}
	}
	start := time.Now()
	for n := 1; time.Since(start) < d; n++ {
		time.Sleep(min(200*time.Millisecond, d-time.Since(start)))
		for i, pid := range pids {
			ts, _ := bench.Threads("/proc", pid)
			for _, t := range ts {
				if waits[i][t.TID] == nil {
					waits[i][t.TID] = map[int]int{}
				}
				waits[i][t.TID][t.Syscall]++
			}
			if n%5 == 0 {
				if u, err := bench.TreeUsage("/proc", pid); err == nil {
					out[i].peakRSSKiB = max(out[i].peakRSSKiB, u.RSSKiB)
				}
			}
		}
	}
	el := time.Since(start).Seconds()
	for i, pid := range pids {
		u, err := bench.TreeUsage("/proc", pid)
		if err != nil {
			return nil, err
		}
		t1, err := bench.Threads("/proc", pid)
		if err != nil {
			return nil, err
		}
		out[i].cpuPercent = 100 * (u.CPUSeconds - u0[i].CPUSeconds) / el
		out[i].switchesPerS = float64(u.Switches-u0[i].Switches) / el
		out[i].threads = u.Threads
		before := map[int]int64{}
		for _, t := range t0s[i] {
			before[t.TID] = t.Switches
		}
		for _, t := range t1 {
			usual, most := -1, 0
			for sc, n := range waits[i][t.TID] {
				if n > most || (n == most && sc < usual) {
					usual, most = sc, n
				}
			}
			out[i].threadsByRate = append(out[i].threadsByRate, threadRate{name: t.Name, wait: bench.SyscallName(usual),
				perSecond: float64(t.Switches-before[t.TID]) / el})
		}
		slices.SortFunc(out[i].threadsByRate, func(a, b threadRate) int { return cmp.Compare(b.perSecond, a.perSecond) })
		progress("%s: CPU %.2f %%, %.0f context switches/s, %d threads, peak RSS %d KiB", out[i].name, out[i].cpuPercent,
			out[i].switchesPerS, out[i].threads, out[i].peakRSSKiB)
	}
	return out, nil
}

// voipdVoice starts two voipd processes, measures them idle for idle, then
// in a voice room with each other for d after settle. With traceTo, the
// first one's execution trace (runtime/trace, 5 s after the window) is
// written there, for `go tool trace`, and the second one's CPU is split by
// perf meanwhile.
func voipdVoice(rm *room, dir string, idle, d, settle time.Duration, traceTo, capture, playback string) (idleRates, callRates []usageRate, split cpuSplit, err error) {
	var ps []*proc
	var cs []*ctl
	defer func() {
		for _, c := range cs {
			c.close()
		}
		for _, p := range ps {
			p.stop()
		}
	}()
	ids := []string{"voice-a", "voice-b"}
	if err := coldBinary(*binDir + "/voipd"); err != nil { // RSS from one page-cache state
		return nil, nil, cpuSplit{}, err
	}
	var pids []int
	var names []string
	pprof := ""
	for i, id := range ids {
		conf := daemonConfigSpeaker(dir+"/"+id, id, rm.ws, rm.secret, capture, playback)
		if traceTo != "" && i == 0 {
			if pprof, err = freePort(); err != nil {
				return nil, nil, cpuSplit{}, err
			}
			conf += fmt.Sprintf("[debug]\npprof = %q\n", pprof)
		}
		p, c, err := startVoipdCtl(dir, id, conf)
		if p != nil {
			ps = append(ps, p)
		}
		if err != nil {
			return nil, nil, cpuSplit{}, err
		}
		cs = append(cs, c)
		pids = append(pids, p.cmd.Process.Pid)
		names = append(names, "voipd "+id)
	}
	time.Sleep(3 * time.Second) // past start-up
	if idleRates, err = measureWindow(names, pids, idle); err != nil {
		return nil, nil, cpuSplit{}, err
	}
	for i, id := range ids {
		if _, err := cs[i].call("joinVoIPChat", rm.joinParams(id, "voice", "voice")); err != nil {
			return nil, nil, cpuSplit{}, err
		}
	}
	for i := range cs {
		if err := until(15*time.Second, func() bool { f, _ := audioFrames(cs[i]); return f > 0 }); err != nil {
			return nil, nil, cpuSplit{}, fmt.Errorf("%s hears nothing: %w", names[i], err)
		}
	}
	time.Sleep(settle)
	f0 := make([]float64, len(cs))
	u0, l0 := make([]float64, len(cs)), make([]float64, len(cs))
	known := make([]bool, len(cs))
	for i := range cs {
		f0[i], _ = audioFrames(cs[i])
		u0[i], l0[i], known[i] = speakerCounts(cs[i])
	}
	if callRates, err = measureWindow(names, pids, d); err != nil {
		return nil, nil, cpuSplit{}, err
	}
	for i := range cs {
		u, l, ok := speakerCounts(cs[i])
		if ok && known[i] {
			r := &callRates[i]
			r.speakerUnderruns, r.speakerLate, r.speakerKnown = u-u0[i], l-l0[i], true
			progress("%s's speaker in the window: %.0f underruns, %.0f callbacks more than a period late", names[i], r.speakerUnderruns, r.speakerLate)
		}
	}
	for i := range cs { // the call did what a call does: 50 frames a second each way
		f, err := audioFrames(cs[i])
		if err != nil {
			return nil, nil, cpuSplit{}, err
		}
		// A silent microphone (-capture default: the null backend's) sends
		// Opus DTX, a frame now and then: the check is the tone's.
		if rate := (f - f0[i]) / d.Seconds(); rate < 45 && capture != "default" {
			return nil, nil, cpuSplit{}, fmt.Errorf("%s received %.1f audio frames a second, want 50", names[i], rate)
		}
	}
	if pprof != "" {
		splitDone := make(chan struct{})
		go func() {
			split = perfSplit(pids[1], splitDuration, dir)
			close(splitDone)
		}()
		if err := fetchTo("http://"+pprof+"/debug/pprof/trace?seconds=5", traceTo); err != nil {
			<-splitDone
			return nil, nil, cpuSplit{}, fmt.Errorf("trace: %w", err)
		}
		progress("%s's execution trace: %s", names[0], traceTo)
		<-splitDone
	}
	for i := range cs {
		cs[i].call("exitVoIPChat", nil)
	}
	return idleRates, callRates, split, nil
}

// fetchTo writes what url answers to file.
func fetchTo(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// speakerCounts reads c's voipd's speaker figures from status: its
// underruns and its callbacks more than a period late, since it opened;
// ok is false when status has no such figures (hw/synth's sink).
func speakerCounts(c *ctl) (underruns, late float64, ok bool) {
	st, err := c.call("status", nil)
	if err != nil {
		return 0, 0, false
	}
	dev, _ := st["devices"].(map[string]any)
	spk, _ := dev["playback"].(map[string]any)
	dropped, ok1 := spk["dropped"].(float64)
	cb, _ := spk["callbacks"].(map[string]any)
	lateN, ok2 := cb["late"].(float64)
	return dropped, lateN, ok1 && ok2
}

// audioFrames sums the audio frames c's voipd decoded, every member's.
func audioFrames(c *ctl) (float64, error) {
	return c.inboundSum("audio", func(m map[string]any) float64 { f, _ := m["framesDecoded"].(float64); return f })
}

// baresipVoice makes the same call between two baresip instances with
// script (internal/bench/anchor/baresip.sh WORKDIR SECONDS) and measures
// them for d after settle. missing says why there are no figures. With
// splitToo, the call runs on for perf to split B's CPU after the window.
func baresipVoice(script, dir string, d, settle time.Duration, splitToo bool) (rates []usageRate, split cpuSplit, missing string, err error) {
	if _, err := os.Stat(script); err != nil {
		return nil, cpuSplit{}, "the anchor script " + script + " is not there", nil
	}
	work := filepath.Join(dir, fmt.Sprintf("baresip-%d", time.Now().UnixNano()))
	extra := 2 * time.Second
	if splitToo {
		extra += splitDuration + 2*time.Second
	}
	total := int(math.Ceil((settle + d + extra).Seconds()))
	argv := []string{script, work, strconv.Itoa(total)}
	if *clientCPU != "" { // where voipd runs, as baresip's threads inherit it
		argv = append([]string{"taskset", "-c", *clientCPU}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, cpuSplit{}, "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, cpuSplit{}, "", err
	}
	defer cmd.Wait()
	pids := map[string]int{}
	sc := bufio.NewScanner(out)
	for len(pids) < 2 && sc.Scan() {
		line := sc.Text()
		progress("baresip: %s", line)
		for _, k := range []string{"pidA", "pidB"} {
			if v, ok := strings.CutPrefix(line, k+"="); ok {
				if pids[k], err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
					return nil, cpuSplit{}, "", fmt.Errorf("baresip.sh: %q", line)
				}
			}
		}
	}
	if len(pids) < 2 {
		cmd.Wait()
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 2 {
			return nil, cpuSplit{}, "baresip is not installed (scripts/bench-deps.sh installs baresip-core)", nil
		}
		return nil, cpuSplit{}, "", fmt.Errorf("baresip.sh gave no pids (exit %v)", cmd.ProcessState)
	}
	go func() { // the rest of its output (its checks), for the log
		for sc.Scan() {
			progress("baresip: %s", sc.Text())
		}
	}()
	time.Sleep(settle)
	rates, err = measureWindow([]string{"baresip A", "baresip B"}, []int{pids["pidA"], pids["pidB"]}, d)
	if err != nil || !splitToo {
		return rates, cpuSplit{}, "", err
	}
	return rates, perfSplit(pids["pidB"], splitDuration, dir), "", nil
}

func cmdVoice(args []string) error {
	fs := newFlags("voice")
	secs := fs.Int("seconds", 30, "measured window of each call, and of idle voipd")
	rounds := fs.Int("rounds", 2, "turns of each call, interleaved")
	settle := fs.Duration("settle", 5*time.Second, "wait after media flows before measuring")
	script := fs.String("baresip", "internal/bench/anchor/baresip.sh", "the baresip anchor script (empty: none)")
	capture := fs.String("capture", "tone:440", `voipd's audio.capture: "tone:440" (hw/synth's tone, paced by a Go timer) or "default" (miniaudio's null backend: silence, its callbacks on its own thread, as a real microphone's)`)
	playback := fs.String("playback", "default", `voipd's audio.playback: "default" (miniaudio's null backend, its callbacks on its own thread) or "null" (hw/synth's sink, in Go)`)
	wakeupAnchor := fs.String("wakeup", "", "the wakeup anchor program (internal/bench/anchor/wakeup.c, built; empty: no price of a wakeup)")
	traceTo := fs.String("trace", "", "keep one voipd's execution trace (5 s, after the last window) in this file (default: a temporary one)")
	fs.Parse(args)
	d := time.Duration(*secs) * time.Second
	rm, dir, done, err := roomAndDir("voipbench-voice-")
	if err != nil {
		return err
	}
	defer done()
	if *traceTo == "" {
		*traceTo = filepath.Join(dir, "voice.trace")
	}

	var idle, voipd, baresip []usageRate
	var codec []codecCost
	var wake []wakeCost // a bare wakeup's price, each round
	missing := ""
	vSplit, bSplit := cpuSplit{why: "not run"}, cpuSplit{why: "not run"}
	for r := 0; r < *rounds; r++ {
		progress("voice round %d: voipd", r+1)
		tr := ""
		if r == *rounds-1 {
			tr = *traceTo
		}
		i, v, sp, err := voipdVoice(rm, filepath.Join(dir, fmt.Sprintf("r%d", r)), d, d, *settle, tr, *capture, *playback)
		if err != nil {
			return fmt.Errorf("voipd call: %w", err)
		}
		if tr != "" {
			vSplit = sp
		}
		idle, voipd = append(idle, i...), append(voipd, v...)
		progress("voice round %d: the codec alone", r+1)
		c, err := codecChild(d, false)
		if err != nil {
			return err
		}
		codec = append(codec, c)
		if *wakeupAnchor != "" {
			progress("voice round %d: a wakeup alone", r+1)
			w, err := wakeupChild(*wakeupAnchor, d)
			if err != nil {
				return err
			}
			wake = append(wake, w)
		}
		if *script == "" {
			missing = "not run (-baresip \"\")"
			continue
		}
		progress("voice round %d: baresip", r+1)
		b, sp, why, err := baresipVoice(*script, dir, d, *settle, r == *rounds-1)
		if err != nil {
			return fmt.Errorf("baresip call: %w", err)
		}
		if r == *rounds-1 {
			bSplit = sp
		}
		if why != "" {
			missing = why
		}
		baresip = append(baresip, b...)
	}
	report := voiceReport(idle, voipd, baresip, codec, wake, missing, *rounds, d)
	if len(voipd) > 0 {
		bCPU := 0.0
		if len(baresip) > 0 {
			bCPU = baresip[len(baresip)-1].cpuPercent // baresip B, last round
		} else if missing != "" {
			bSplit.why = missing
		}
		report += splitMarkdown(vSplit, bSplit, voipd[len(voipd)-1].cpuPercent, bCPU)
	}
	if out, err := exec.Command("go", "tool", "trace", "-d=parsed", *traceTo).Output(); err != nil {
		progress("go tool trace: %v", err)
		report += "\nThe execution trace could not be read in this run.\n"
	} else {
		report += summarizeTrace(string(out)).markdown()
	}
	fmt.Print(report)
	return nil
}

// voiceReport is the section: medians over the processes of all rounds.
func voiceReport(idle, voipd, baresip []usageRate, codec []codecCost, wake []wakeCost, missing string, rounds int, d time.Duration) string {
	median := func(v []float64) float64 { // the middle value, or the mean of the middle two
		if len(v) == 0 {
			return math.NaN()
		}
		v = slices.Sorted(slices.Values(v))
		return (v[(len(v)-1)/2] + v[len(v)/2]) / 2
	}
	med := func(rs []usageRate, f func(usageRate) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return median(v)
	}
	cpu := func(r usageRate) float64 { return r.cpuPercent }
	sw := func(r usageRate) float64 { return r.switchesPerS }
	th := func(r usageRate) float64 { return float64(r.threads) }
	rss := func(r usageRate) float64 { return float64(r.peakRSSKiB) / 1024 }
	ratio := func(f func(usageRate) float64) string {
		if len(baresip) == 0 {
			return "—"
		}
		return fmt.Sprintf("%.2f", med(voipd, f)/med(baresip, f))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Two-member voice call: what it costs beside baresip\n\n")
	fmt.Fprintf(&b, "Issue 19. Two voipd processes in a voice room through roomd on loopback (20 ms mono Opus, 32 kbit/s,\n")
	fmt.Fprintf(&b, "complexity 9 (voipd's default; baresip set to match), the synthetic 440 Hz tone as microphone, miniaudio's null backend as speaker, its callback\n")
	fmt.Fprintf(&b, "in C; voipd's runtime defaults: GOMAXPROCS 1, 1 ms of timer slack), and the same\n")
	fmt.Fprintf(&b, "call between two baresip instances calling each other directly (Debian's baresip-core with the same Opus\n")
	fmt.Fprintf(&b, "settings, its sine source, and no player: baresip 1.0.0 has none without a sound card, so it decodes and\n")
	fmt.Fprintf(&b, "drops; internal/bench/anchor/baresip.sh and BARESIP.md), in turns, %d\n", rounds)
	fmt.Fprintf(&b, "rounds of %v each; medians over the processes of every round. Context switches are all of a process's\n", d)
	fmt.Fprintf(&b, "threads, voluntary (it waited: a wakeup) and not (preempted), from /proc/PID/task/*/status. Idle is each\n")
	fmt.Fprintf(&b, "voipd started and not in a room, over %v before its join. The codec alone is `voipbench codec` on the same\n", d)
	fmt.Fprintf(&b, "CPU, each round for as long: the tone a voipd's tone:440 gives, paced at 20 ms as in the call, encoded with\n")
	fmt.Fprintf(&b, "voipd's Opus settings and the packet decoded, counting the thread's CPU time in the two calls only: the\n")
	fmt.Fprintf(&b, "floor each process's call stands on (both encode and decode one stream each way); beyond it is the rest.\n\n")
	b.WriteString("| | voipd | baresip | voipd ÷ baresip | goal |\n| --- | --- | --- | --- | --- |\n")
	fmt.Fprintf(&b, "| CPU, %% of a core | %.2f | %.2f | %s | ≤ 2.5 and ≤ baresip |\n", med(voipd, cpu), med(baresip, cpu), ratio(cpu))
	floor := median(func() []float64 {
		v := make([]float64, len(codec))
		for i, c := range codec {
			v[i] = c.percent
		}
		return v
	}())
	// A bare wakeup's price, µs: the cheaper and the dearer of the timer's
	// and the pipe's medians (the timer's alone without a second CPU).
	byTimer, byPipe := make([]float64, len(wake)), make([]float64, len(wake))
	for i, w := range wake {
		byTimer[i], byPipe[i] = w.byTimer, w.byPipe
	}
	timerUs, pipeUs := median(byTimer), median(byPipe)
	lo, hi := timerUs, timerUs
	if pipeUs > 0 {
		lo, hi = min(timerUs, pipeUs), max(timerUs, pipeUs)
	}
	// The switches at a price, % of a core: (1/s × µs) / 1e6 × 100.
	switchCost := func(rs []usageRate, us float64) float64 { return med(rs, sw) * us / 1e4 }
	span := func(a, z float64) string { // a figure from a to z, one figure if they print alike
		if fmt.Sprintf("%.2f", a) == fmt.Sprintf("%.2f", z) {
			return fmt.Sprintf("%.2f", a)
		}
		return fmt.Sprintf("%.2f–%.2f", a, z)
	}
	beyond := func(rs []usageRate) float64 { return med(rs, cpu) - floor }
	beyondRatio := "—"
	if len(baresip) > 0 {
		beyondRatio = fmt.Sprintf("%.2f", beyond(voipd)/beyond(baresip))
	}
	fmt.Fprintf(&b, "| the codec alone (encode + decode, 50 frames/s), %% of a core | %.2f | %.2f | | the floor |\n", floor, floor)
	fmt.Fprintf(&b, "| CPU beyond the codec, %% of a core | %.2f | %.2f | %s | |\n", beyond(voipd), beyond(baresip), beyondRatio)
	fmt.Fprintf(&b, "| context switches/s | %.0f | %.0f | %s | ≤ 300 and ≤ baresip |\n", med(voipd, sw), med(baresip, sw), ratio(sw))
	if len(wake) > 0 {
		cost := func(rs []usageRate) string { return span(switchCost(rs, lo), switchCost(rs, hi)) }
		rest := func(rs []usageRate) string {
			return span(beyond(rs)-switchCost(rs, hi), beyond(rs)-switchCost(rs, lo))
		}
		fmt.Fprintf(&b, "| a wakeup alone (a C thread doing nothing else, every 20 ms), µs of CPU: by a timer, by a pipe from the other CPU | %.1f, %.1f | %.1f, %.1f | | this machine's price |\n",
			timerUs, pipeUs, timerUs, pipeUs)
		fmt.Fprintf(&b, "| the context switches at that price, %% of a core | %s | %s | | |\n", cost(voipd), cost(baresip))
		fmt.Fprintf(&b, "| CPU beyond the codec and the switches' price, %% of a core | %s | %s | | |\n", rest(voipd), rest(baresip))
	}
	fmt.Fprintf(&b, "| threads | %.0f | %.0f | %s | |\n", med(voipd, th), med(baresip, th), ratio(th))
	fmt.Fprintf(&b, "| peak RSS, MiB | %.1f | %.1f | %s | |\n", med(voipd, rss), med(baresip, rss), ratio(rss))
	fmt.Fprintf(&b, "| idle voipd: CPU %%, switches/s | %.3f, %.1f | | | ≤ 2 wakeups/s |\n", med(idle, cpu), med(idle, sw))
	var under, late float64
	spkKnown := 0
	for _, r := range voipd {
		if r.speakerKnown {
			under, late, spkKnown = under+r.speakerUnderruns, late+r.speakerLate, spkKnown+1
		}
	}
	if spkKnown > 0 {
		fmt.Fprintf(&b, "| the speaker in the windows (%d voipd windows): underruns, callbacks > a period late | %.0f, %.0f | | | |\n", spkKnown, under, late)
	}
	if missing != "" {
		fmt.Fprintf(&b, "\nbaresip: %s.\n", missing)
	}
	if len(wake) > 0 && len(voipd) > 0 {
		fmt.Fprintf(&b, "\nThe codec alone and voipd's %.0f context switches a second at the price of a bare wakeup come to %s %% of a core\n",
			med(voipd, sw), span(floor+switchCost(voipd, lo), floor+switchCost(voipd, hi)))
		fmt.Fprintf(&b, "on this machine, before any of voipd's own work (the goal is 2.5). A wakeup alone is internal/bench/anchor/wakeup.c on\n")
		fmt.Fprintf(&b, "the same CPU, each round for as long: a thread's CPU time over its wakeups, half of them by a timer (as a device thread's or the\n")
		fmt.Fprintf(&b, "tone's) and half by a byte written to a pipe it reads from a thread on the other CPU (as a packet from roomd wakes a\n")
		fmt.Fprintf(&b, "receiver); on a virtual machine, the hypervisor's share of arming the timer, halting and waking the vCPU is in it. A\n")
		fmt.Fprintf(&b, "call's switches are of both kinds, so their cost is given from all at the cheaper price to all at the dearer.\n")
	}
	if len(voipd) > 0 {
		// Where voipd's switches are: the first process of the last round.
		v := voipd[len(voipd)-1]
		fmt.Fprintf(&b, "\nWhere one voipd's context switches are (%s, last round), by thread, with the system call each was\n", v.name)
		fmt.Fprintf(&b, "in most often (sampled every 200 ms): Go's sysmon sleeps in nanosleep, C threads (miniaudio's device\n")
		fmt.Fprintf(&b, "thread) in clock_nanosleep, parked Go threads in futex, the network poller in epoll_pwait. ")
		var parts []string
		var rest float64
		for i, t := range v.threadsByRate {
			if i < 6 {
				parts = append(parts, fmt.Sprintf("%s (%s) %.0f/s", t.name, t.wait, t.perSecond))
			} else {
				rest += t.perSecond
			}
		}
		fmt.Fprintf(&b, "%s; the other %d threads %.0f/s together.\n", strings.Join(parts, ", "), max(0, len(v.threadsByRate)-6), rest)
	}
	return b.String()
}

// traceSummary is what an execution trace says a voipd did per second:
// its Ps woken (idle → running), goroutines woken (by who woke them),
// system and cgo calls (by call site), and calls that lost their P (the
// runtime's sysmon handed it to another thread while the call ran).
type traceSummary struct {
	seconds                        float64
	procWakeups, goWakeups, calls  float64
	lostP                          float64
	topWakers, topCalls, topLostBy []siteRate
	// Goroutines woken by no goroutine (the network poller: a packet, a C
	// callback's eventfd; or a timer), by what they waited in: the
	// wakeups that start the process's activity.
	unprompted float64
	topWaits   []siteRate
}

type siteRate struct {
	site      string
	perSecond float64
}

// summarizeTrace reads `go tool trace -d=parsed` output: event lines
// ("M=.. P=.. G=.. StateTransition Time=T GoID=N From->To ...") each
// followed by its stack ("\tfunc @ pc" and "\t\tfile:line" lines).
func summarizeTrace(parsed string) traceSummary {
	var s traceSummary
	var first, last int64
	wakers, calls, lost, waits := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	lastCall := map[string]string{} // goroutine: the site of its latest call (a lost P's event has no stack)
	waitedIn := map[string]string{} // goroutine: why and where it last blocked
	var kind, goid, reason string   // the current event's counted kind, goroutine and reason; its stack follows
	site, outer := "", ""           // the counted site; the outermost frame of a blocking goroutine's stack
	flush := func() {
		switch kind {
		case "wake":
			wakers[site]++
		case "call":
			calls[site]++
			lastCall[goid] = site
		case "lost":
			if site == "" {
				site = lastCall[goid]
			}
			lost[site]++
		case "block":
			if site == "" {
				site = outer // the runtime's own goroutine: its start function
			}
			if site == "" {
				site = "(no stack)"
			}
			waitedIn[goid] = reason + "\x00" + site
		}
		kind, site, outer = "", "", ""
	}
	for _, l := range strings.Split(parsed, "\n") {
		if strings.HasPrefix(l, "M=") {
			flush()
			if i := strings.Index(l, " Time="); i >= 0 {
				if t, err := strconv.ParseInt(strings.Fields(l[i+6:])[0], 10, 64); err == nil {
					if first == 0 || t < first {
						first = t
					}
					last = max(last, t)
				}
			}
			goid = ""
			if i := strings.Index(l, " GoID="); i >= 0 {
				goid = strings.Fields(l[i+6:])[0]
			}
			switch {
			case !strings.Contains(l, " StateTransition "):
			case strings.Contains(l, " ProcID=") && strings.Contains(l, " Idle->Running"):
				s.procWakeups++
			case strings.Contains(l, " GoID=") && strings.Contains(l, " Waiting->Runnable"):
				s.goWakeups++
				kind = "wake"
				if strings.Contains(l, " G=-1 ") {
					s.unprompted++
					w := waitedIn[goid]
					if w == "" {
						w = "\x00(blocked before the trace)"
					}
					waits[w]++
				}
			case strings.Contains(l, " GoID=") && strings.Contains(l, " Running->Waiting"):
				kind, reason = "block", ""
				if i := strings.Index(l, ` Reason="`); i >= 0 {
					reason, _, _ = strings.Cut(l[i+9:], `"`)
				}
			case strings.Contains(l, " GoID=") && strings.Contains(l, " Running->Syscall"):
				s.calls++
				kind = "call"
			case strings.Contains(l, " GoID=") && strings.Contains(l, " Syscall->Runnable"):
				s.lostP++
				kind = "lost"
			}
			continue
		}
		// The first frame outside the runtime and the standard library's
		// plumbing names the site.
		if kind != "" && strings.HasPrefix(l, "\t") && !strings.HasPrefix(l, "\t\t") {
			f := strings.TrimSpace(l)
			if i := strings.Index(f, " @"); i >= 0 {
				f = f[:i]
			}
			if kind == "block" {
				outer = f
			}
			if site != "" {
				continue
			}
			if !strings.HasPrefix(f, "runtime.") && !strings.HasPrefix(f, "syscall.") && !strings.HasPrefix(f, "internal/") &&
				!strings.HasPrefix(f, "sync.") && !strings.HasPrefix(f, "golang.org/x/sys") && !strings.HasPrefix(f, "os.") &&
				// Where a goroutine waits is its caller's, not net's or time's.
				!(kind == "block" && (strings.HasPrefix(f, "net.") || strings.HasPrefix(f, "time."))) {
				site = f
			}
		}
	}
	flush()
	s.seconds = float64(last-first) / 1e9
	if s.seconds <= 0 {
		return s
	}
	top := func(m map[string]int) []siteRate {
		var out []siteRate
		for k, n := range m {
			if k == "" {
				k = "(no stack)"
			}
			out = append(out, siteRate{k, float64(n) / s.seconds})
		}
		slices.SortFunc(out, func(a, b siteRate) int {
			if c := cmp.Compare(b.perSecond, a.perSecond); c != 0 {
				return c
			}
			return strings.Compare(a.site, b.site)
		})
		return out[:min(len(out), 6)]
	}
	s.procWakeups /= s.seconds
	s.goWakeups /= s.seconds
	s.calls /= s.seconds
	s.lostP /= s.seconds
	s.unprompted /= s.seconds
	s.topWakers, s.topCalls, s.topLostBy, s.topWaits = top(wakers), top(calls), top(lost), top(waits)
	return s
}

func (s traceSummary) markdown() string {
	if s.seconds <= 0 {
		return ""
	}
	list := func(rs []siteRate) string {
		var parts []string
		for _, r := range rs {
			parts = append(parts, fmt.Sprintf("`%s` %.0f", r.site, r.perSecond))
		}
		return strings.Join(parts, ", ")
	}
	listf := func(rs []siteRate) string {
		var parts []string
		for _, r := range rs {
			why, site, _ := strings.Cut(r.site, "\x00")
			if why != "" {
				why += " "
			}
			parts = append(parts, fmt.Sprintf("%s`%s` %.1f", why, site, r.perSecond))
		}
		return strings.Join(parts, ", ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nOne voipd's execution trace (runtime/trace, %.0f s after the last window), per second: its Ps woken from\n", s.seconds)
	fmt.Fprintf(&b, "idle %.0f times; goroutines woken %.0f times, by %s; system and cgo calls %.0f, from %s;\n",
		s.procWakeups, s.goWakeups, list(s.topWakers), s.calls, list(s.topCalls))
	fmt.Fprintf(&b, "calls that lost their P while they ran (the runtime's sysmon handed it on) %.0f", s.lostP)
	if len(s.topLostBy) > 0 {
		fmt.Fprintf(&b, ", from %s", list(s.topLostBy))
	}
	b.WriteString(".\n")
	if s.unprompted > 0 {
		// What starts each burst of work: a goroutine woken by no other
		// goroutine, by why and where it waited.
		fmt.Fprintf(&b, "Goroutines woken by no goroutine (a packet or a C callback's eventfd through the poller, or a timer) %.1f times,\nwaiting in %s.\n",
			s.unprompted, listf(s.topWaits))
	}
	return b.String()
}
