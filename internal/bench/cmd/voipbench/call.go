package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"

	"github.com/voipd/voipd/internal/bench"
)

// member is one side of a measured call: its process tree's usage over
// the window and what it received.
type member struct {
	name       string
	pid        int
	idle       bench.Usage // before joining (voipd only)
	cpuPercent float64     // of one core, over the window
	peak       bench.Memory
	fps        float64 // video frames decoded per second, from the other member
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
		if f0[i], err = frames(i); err != nil {
			return err
		}
	}
	t0 := time.Now()
	for time.Since(t0) < d {
		time.Sleep(min(time.Second, d-time.Since(t0)))
		for _, m := range ms {
			if u, err := bench.TreeUsage("/proc", m.pid); err == nil {
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
		f, err := frames(i)
		if err != nil {
			return err
		}
		m.fps = (f - f0[i]) / el
		progress("%s: CPU %.1f %%, peak RSS %d KiB, PSS %d KiB, %d processes, video in %.1f fps", m.name, m.cpuPercent, m.peak.RSSKiB, m.peak.PSSKiB, u.Procs, m.fps)
	}
	return nil
}

// voipdCall runs two voipd processes in a video room and measures them;
// gcFor is how long the gctrace window lasts (from the measured window's
// start), at least the window itself.
func voipdCall(rm *room, dir string, d, settle, gcFor time.Duration) ([]*member, []bench.GCSummary, error) {
	var ms []*member
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
	for _, id := range []string{"bench-a", "bench-b"} {
		p, err := startVoipd(dir, id, daemonConfig(dir+"/"+id, id, rm.ws, rm.secret), "GODEBUG=gctrace=1")
		if err != nil {
			return nil, nil, err
		}
		ps = append(ps, p)
		c, err := p.waitSocket(10 * time.Second)
		if err != nil {
			return nil, nil, err
		}
		cs = append(cs, c)
		ms = append(ms, &member{name: "voipd " + id, pid: p.cmd.Process.Pid})
	}
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
	t0 := time.Now()
	if err := window(ms, d, func(i int) (float64, error) { return cs[i].inboundFrames("video") }); err != nil {
		return nil, nil, err
	}
	if rest := gcFor - time.Since(t0); rest > 0 {
		progress("the voipd call goes on %v for the GC window", rest.Round(time.Second))
		time.Sleep(rest)
	}
	t1 := time.Now()
	var gcs []bench.GCSummary
	for _, p := range ps {
		f, err := os.Open(p.stderr)
		if err != nil {
			return nil, nil, err
		}
		cycles := bench.ParseGCTrace(f)
		f.Close()
		gcs = append(gcs, bench.SummarizeGC(cycles, t0.Sub(p.started).Seconds(), t1.Sub(p.started).Seconds()))
	}
	return ms, gcs, nil
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
