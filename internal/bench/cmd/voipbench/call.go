package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/voipd/voipd/internal/bench"
)

// member is one side of a measured call: its process tree's usage over
// the window and what it received.
type member struct {
	name       string
	pid        int
	idle       bench.Usage // before joining (voipd only)
	left       bench.Usage // after leaving the room (voipd only)
	cpuPercent float64     // of one core, over the window
	peak       bench.Memory
	peakParts  bench.RSSParts // of a single process (voipd) at its peak RSS sample
	fps        float64        // video frames decoded per second, from the other member
	switches   float64        // context switches a second over the window, all threads of the tree
	threads    int            // at the window's end
	split      *cpuSplit      // where its CPU went after the window (perf), if split
}

// sampleParts splits a single process's RSS sample into its executable,
// libraries and anonymous memory (a process tree is not split).
func (m *member) sampleParts(u bench.Usage) {
	if u.Procs != 1 {
		return
	}
	if p, err := bench.ProcessRSSParts("/proc", m.pid); err == nil {
		m.peakParts = p
	}
}

// window samples the members' process trees every second for d after a
// first sample, returning CPU % over d and the peak RSS and PSS, and calls
// frames before and after to rate the decoded video.
func window(ms []*member, d time.Duration, frames func(i int) (float64, error)) error {
	u0 := make([]bench.Usage, len(ms))
	f0 := make([]float64, len(ms))
	for i, m := range ms {
		u, err := bench.TreeUsage("/proc", m.pid)
		if err != nil {
			return err
		}
		u0[i], m.peak = u, u.Memory
		m.sampleParts(u)
		if f0[i], err = frames(i); err != nil {
			return err
		}
	}
	t0 := time.Now()
	for time.Since(t0) < d {
		time.Sleep(min(time.Second, d-time.Since(t0)))
		for _, m := range ms {
			if u, err := bench.TreeUsage("/proc", m.pid); err == nil {
				if u.RSSKiB > m.peak.RSSKiB {
					m.sampleParts(u)
				}
				m.peak.RSSKiB = max(m.peak.RSSKiB, u.RSSKiB)
				m.peak.PSSKiB = max(m.peak.PSSKiB, u.PSSKiB)
			}
		}
	}
	el := time.Since(t0).Seconds()
	for i, m := range ms {
		u, err := bench.TreeUsage("/proc", m.pid)
		if err != nil {
			return err
		}
		m.cpuPercent = 100 * (u.CPUSeconds - u0[i].CPUSeconds) / el
		m.switches = float64(u.Switches-u0[i].Switches) / el
		m.threads = u.Threads
		f, err := frames(i)
		if err != nil {
			return err
		}
		m.fps = (f - f0[i]) / el
		progress("%s: CPU %.1f %%, peak RSS %d KiB, PSS %d KiB, %d processes, video in %.1f fps", m.name, m.cpuPercent, m.peak.RSSKiB, m.peak.PSSKiB, u.Procs, m.fps)
	}
	return nil
}

// voipdCall runs two voipd processes (bin/voipd) in a video room and
// measures them; gcFor is how long the allocation window lasts (from the
// measured window's start), at least the window itself. With metrics, both
// serve Prometheus metrics, scraped every metricsScrape (an older build,
// the before call's, has no [metrics]).
func voipdCall(rm *room, dir, bin string, d, settle, gcFor time.Duration, metrics bool, traceTo string) ([]*member, []allocWindow, error) {
	var ms []*member
	var ps []*proc
	var cs []*ctl
	var profs, pprofs []string // each voipd's allocs profile URL, and its debug.pprof address
	defer func() {
		for _, c := range cs {
			c.close()
		}
		for _, p := range ps {
			p.stop()
		}
	}()
	// startVoipd runs *binDir/voipd: this call's binary for its starts.
	defer func(old string) { *binDir = old }(*binDir)
	*binDir = bin
	if err := coldBinary(bin + "/voipd"); err != nil {
		return nil, nil, err
	}
	var scrapes []string
	for _, id := range []string{"bench-a", "bench-b"} {
		addr, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		// debug.pprof serves runtime.MemStats (allocs?debug=1): the one
		// reading of the allocation counters every voipd build has.
		// The speaker is miniaudio's null backend, so the call drives malgo's
		// callbacks and status reports their lateness under the load.
		// Metrics on, as a fleet runs them (scraped below every
		// metricsScrape): the call's RSS and CPU include what they cost.
		maddr, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		conf := daemonConfigSpeaker(dir+"/"+id, id, rm.ws, rm.secret, "tone:440", "default") + fmt.Sprintf("[debug]\npprof = %q\n", addr)
		if metrics {
			conf += fmt.Sprintf("[metrics]\nlisten = %q\n", maddr)
			scrapes = append(scrapes, "http://"+maddr+"/metrics")
		}
		p, c, err := startVoipdCtl(dir, id, conf, "GODEBUG=gctrace=1")
		if p != nil {
			ps = append(ps, p)
		}
		if err != nil {
			return nil, nil, err
		}
		cs = append(cs, c)
		profs = append(profs, "http://"+addr+"/debug/pprof/allocs?debug=1")
		pprofs = append(pprofs, addr)
		ms = append(ms, &member{name: "voipd " + id, pid: p.cmd.Process.Pid})
	}
	stopScrapes := scrapeEvery(metricsScrape, scrapes)
	defer stopScrapes()
	time.Sleep(2 * time.Second) // idle, as a kiosk waits
	for _, m := range ms {
		u, err := bench.TreeUsage("/proc", m.pid)
		if err != nil {
			return nil, nil, err
		}
		m.idle = u
	}
	for i, id := range []string{"bench-a", "bench-b"} {
		if _, err := cs[i].call("joinVoIPChat", rm.joinParams(id, "call", "video")); err != nil {
			return nil, nil, err
		}
	}
	for i := range cs {
		if err := until(15*time.Second, func() bool { f, _ := cs[i].inboundFrames("video"); return f > 0 }); err != nil {
			return nil, nil, fmt.Errorf("%s receives no video: %w", ms[i].name, err)
		}
	}
	time.Sleep(settle)
	r0 := make([]counters, len(ps))
	for i, p := range ps {
		var err error
		if r0[i], err = readCounters(cs[i], profs[i], p.started); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", ms[i].name, err)
		}
	}
	t0 := time.Now()
	if err := window(ms, d, func(i int) (float64, error) { return cs[i].inboundFrames("video") }); err != nil {
		return nil, nil, err
	}
	if rest := gcFor - time.Since(t0); rest > 0 {
		progress("the voipd call goes on %v for the allocation window", rest.Round(time.Second))
		time.Sleep(rest)
	}
	t1 := time.Now()
	var ws []allocWindow
	for i, p := range ps {
		r1, err := readCounters(cs[i], profs[i], p.started)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", ms[i].name, err)
		}
		f, err := os.Open(p.stderr)
		if err != nil {
			return nil, nil, err
		}
		cycles := bench.ParseGCTrace(f)
		f.Close()
		w := r0[i].until(r1)
		// A second reading at once: what one reading allocates in voipd
		// (its JSON and the profile's text), which the window counted.
		if r2, err := readCounters(cs[i], profs[i], p.started); err == nil {
			w.readingKiB = (r2.memstats.HeapBytes - r1.memstats.HeapBytes) / 1024
		}
		w.speaker = r1.speaker
		w.gctrace = bench.SummarizeGC(cycles, t0.Sub(p.started).Seconds(), t1.Sub(p.started).Seconds())
		ws = append(ws, w)
		progress("%s: %.2f MiB/s, %.0f objects/s, %.1f GC cycles/min (MemStats); gctrace %.2f MiB/s, %d cycles", ms[i].name,
			w.memstats.MiBPerSecond, w.memstats.ObjectsPerSecond, w.memstats.CyclesPerMin, w.gctrace.MBPerSecond, w.gctrace.Cycles)
	}
	if traceTo != "" { // the first voipd's execution trace, after the windows (voiceReport's summary)
		// Meanwhile the second one's CPU is split by perf, as the voice call's.
		splitDone := make(chan struct{})
		go func() {
			s := perfSplit(ms[1].pid, splitDuration, dir)
			ms[1].split = &s
			close(splitDone)
		}()
		err := fetchTo("http://"+pprofs[0]+"/debug/pprof/trace?seconds=5", traceTo)
		<-splitDone
		if err != nil {
			return nil, nil, fmt.Errorf("trace: %w", err)
		}
	}
	// Back to idle, as a kiosk between calls for months: what the call
	// leaves behind (voipd gives memory back 1 s after it is idle).
	for i := range cs {
		if _, err := cs[i].call("exitVoIPChat", nil); err != nil {
			return nil, nil, fmt.Errorf("%s: exitVoIPChat: %w", ms[i].name, err)
		}
	}
	time.Sleep(3 * time.Second)
	for _, m := range ms {
		u, err := bench.TreeUsage("/proc", m.pid)
		if err != nil {
			return nil, nil, err
		}
		m.left = u
	}
	return ms, ws, nil
}

// counters are one voipd's allocation counters at one moment, by each
// way the bench reads them, and its RTP packet counts (to rate its
// allocation per packet).
type counters struct {
	metrics   *bench.Counters // status.runtime (runtime/metrics); nil for a voipd without it
	memstats  bench.Counters  // runtime.MemStats through debug.pprof
	packets   float64         // RTP packets sent and received, every stream
	sentBytes float64
	// speaker is status.devices.playback.callbacks: how late miniaudio's
	// callbacks ran since the device opened (nil: not a malgo device).
	speaker *callbacks
}

// callbacks is one device's callback lateness from status.
type callbacks struct{ count, late, worstMs, underruns float64 }

// allocWindow is one voipd's allocation over the window.
type allocWindow struct {
	metrics          *bench.AllocRate
	memstats         bench.AllocRate
	gctrace          bench.GCSummary // the estimate from GODEBUG=gctrace=1
	packetsPerSecond float64
	sentKbps         float64
	readingKiB       float64 // what one reading of the counters allocates in voipd
	speaker          *callbacks
}

func (a counters) until(b counters) allocWindow {
	w := allocWindow{memstats: bench.RateBetween(a.memstats, b.memstats)}
	if a.metrics != nil && b.metrics != nil {
		r := bench.RateBetween(*a.metrics, *b.metrics)
		w.metrics = &r
	}
	if s := w.memstats.Seconds; s > 0 {
		w.packetsPerSecond = (b.packets - a.packets) / s
		w.sentKbps = (b.sentBytes - a.sentBytes) * 8 / 1000 / s
	}
	return w
}

// readCounters reads status.runtime and getStats over the control socket,
// then the MemStats lines of prof (the allocs profile at debug=1). Each
// reading allocates in voipd (JSON, the profile's text): allocation the
// window counts as the call's; the report says how much it is.
func readCounters(c *ctl, prof string, started time.Time) (counters, error) {
	var r counters
	st, err := c.call("status", nil)
	if err != nil {
		return r, err
	}
	if rt, ok := st["runtime"].(map[string]any); ok {
		f := func(k string) float64 { v, _ := rt[k].(float64); return v }
		r.metrics = &bench.Counters{Seconds: f("uptimeSeconds"), HeapBytes: f("heapAllocBytes"),
			HeapObjects: f("heapAllocObjects"), GCCycles: f("gcCycles")}
	}
	if devs, ok := st["devices"].(map[string]any); ok {
		if pb, ok := devs["playback"].(map[string]any); ok {
			if cb, ok := pb["callbacks"].(map[string]any); ok {
				f := func(k string) float64 { v, _ := cb[k].(float64); return v }
				r.speaker = &callbacks{count: f("count"), late: f("late"), worstMs: f("worstLateMs")}
				if d, ok := pb["dropped"].(float64); ok {
					r.speaker.underruns = d
				}
			}
		}
	}
	gs, err := c.call("getStats", nil)
	if err != nil {
		return r, err
	}
	for _, dir := range []string{"outbound", "inbound"} {
		list, _ := gs[dir].([]any)
		for _, e := range list {
			m, _ := e.(map[string]any)
			sent, _ := m["packetsSent"].(float64)
			recv, _ := m["packetsReceived"].(float64)
			bytes, _ := m["bytesSent"].(float64)
			r.packets += sent + recv
			r.sentBytes += bytes
		}
	}
	resp, err := http.Get(prof)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return r, err
	}
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("%s: %s", prof, resp.Status)
	}
	if r.memstats, err = bench.ParseMemStats(b); err != nil {
		return r, err
	}
	r.memstats.Seconds = time.Since(started).Seconds()
	return r, nil
}

// freePort is a loopback address nothing listens on now (the voipd about
// to start takes it; another process could in between, which fails that
// start loudly rather than measuring the wrong thing).
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// chromiumCall runs the same call between two headless Chromium instances
// (the browser client, fake camera 640x480@30 and fake microphone).
func chromiumCall(rm *room, d, settle time.Duration) ([]*member, error) {
	var ms []*member
	var bs []*browser
	defer func() {
		for _, b := range bs {
			b.cancel()
		}
	}()
	ids := []string{"chrome-a", "chrome-b"}
	for _, id := range ids {
		b, err := startBrowser(context.Background())
		if err != nil {
			return nil, err
		}
		bs = append(bs, b)
		if err := b.pin(*clientCPU); err != nil {
			return nil, err
		}
		if err := b.navigate(fmt.Sprintf("%s/?groupId=ccall&openid=%s&autojoin=1&roomType=video", rm.srv.URL(), id)); err != nil {
			return nil, err
		}
		ms = append(ms, &member{name: "chromium " + id, pid: b.pid})
	}
	frames := func(i int) (float64, error) {
		var n float64
		err := bs[i].eval(10*time.Second, fmt.Sprintf(`(async () => { const s = await window.voipd.stats();
			return s.inboundVideo.filter(v => v.member === %q).reduce((a, v) => a + (v.framesDecoded || 0), 0); })()`, ids[1-i]), &n)
		return n, err
	}
	for i, b := range bs {
		if err := b.waitFor(fmt.Sprintf(`(async () => (await window.voipd.stats()).inboundVideo.some(v => v.member === %q && v.framesDecoded > 0))()`, ids[1-i]), 30*time.Second); err != nil {
			return nil, err
		}
		b.pin(*clientCPU) // the renderers started since
	}
	time.Sleep(settle)
	return ms, window(ms, d, frames)
}

func until(d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func mean(ms []*member, f func(*member) float64) float64 {
	if len(ms) == 0 {
		return math.NaN()
	}
	var s float64
	for _, m := range ms {
		s += f(m)
	}
	return s / float64(len(ms))
}

// before is the same voipd call made with voipd as built at an earlier
// commit: what the call allocated before the allocation work.
type before struct {
	commit, subject string
	ms              []*member
	allocs          []allocWindow
	missing         string // why there are no figures
}

// beforeCall builds voipd at rev in a temporary git worktree of the
// checkout voipbench runs in and makes the same call with it. The config
// is the one this build gets: the keys it uses (debug.pprof included) were
// all there at the commit.
func beforeCall(rm *room, dir, rev string, d, settle, gcFor time.Duration) before {
	if rev == "" {
		return before{missing: "not run (-before \"\")"}
	}
	short, subject, err := bench.Commit(".", rev)
	if err != nil {
		return before{missing: fmt.Sprintf("commit %s is not in this checkout's history (a shallow clone, or no .git), so there is no before call", rev)}
	}
	b := before{commit: short, subject: subject}
	bin := filepath.Join(dir, "before-bin")
	progress("building voipd at %s in a temporary git worktree", short)
	if err := bench.BuildAt(".", rev, "./cmd/voipd", filepath.Join(bin, "voipd")); err != nil {
		progress("%v", err)
		b.missing = fmt.Sprintf("voipd did not build at %s: %s", short, firstLine(err.Error()))
		return b
	}
	progress("the same call with voipd at %s", short)
	if b.ms, b.allocs, err = voipdCall(rm, filepath.Join(dir, "before"), bin, d, settle, gcFor, false, ""); err != nil {
		progress("%v", err)
		b.missing = fmt.Sprintf("the call with voipd at %s failed: %s", short, firstLine(err.Error()))
	}
	return b
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// metricsScrape is how often the bench scrapes each voipd's metrics during
// the call: more often than a Prometheus agent's usual 15 s, so that the
// figures carry their cost at its worst.
const metricsScrape = 5 * time.Second

// scrapeEvery reads each URL's metrics every d until the returned stop.
func scrapeEvery(d time.Duration, urls []string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		c := &http.Client{Timeout: 5 * time.Second}
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			for _, u := range urls {
				if resp, err := c.Get(u); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				} else {
					progress("scraping %s: %v", u, err)
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
