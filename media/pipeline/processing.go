package pipeline

import (
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/codec/apm"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/media/settings"
)

// processing is one call's hands-free processing (codec/apm): the
// receiver renders the final mix into it, exactly as handed to the
// speaker, before its echo can reach the microphone; the sender processes
// each captured frame, telling it the delay from a played sample to its
// echo: the speaker's queue plus the microphone's, both read as the frame
// is processed. Both run on their own goroutines; the module locks each
// side.
type processing struct {
	p   *apm.Processor
	log *slog.Logger

	speaker   atomic.Value // latencySource: the speaker the receiver plays on
	reported  atomic.Int64 // ns: the delay last told to the canceller
	resets    atomic.Uint64
	errors    atomic.Uint64
	lastReset atomic.Int64 // Unix ns of the last reset, 0 before one

	// Each device's samples counted against the system clock: the
	// microphone's by the sender, the speaker's by the receiver.
	micClock, spkClock deviceClock
}

// apmConfig is what cfg asks for capture c: nothing for a synthetic
// source, which hears no speaker.
func apmConfig(cfg settings.Audio, c hw.Capture) apm.Config {
	if c == nil || c.Info().Synthetic {
		return apm.Config{}
	}
	a := apm.Config{EchoCancellation: cfg.EchoCancellation, NoiseSuppression: cfg.NoiseSuppression,
		AutoGainControl: cfg.AutoGainControl}
	a.HighPassFilter = a.Any()
	return a
}

// newProcessing starts the processing cfg asks for; nil when none, or
// when the module cannot start (logged: the call goes on unprocessed).
func newProcessing(cfg apm.Config, log *slog.Logger) *processing {
	if !cfg.Any() {
		return nil
	}
	p, err := apm.New(cfg)
	if err != nil {
		log.Warn("audio processing unavailable: the microphone goes out unprocessed", "err", err)
		return nil
	}
	log.Info("audio processing", "echoCancellation", cfg.EchoCancellation, "noiseSuppression", cfg.NoiseSuppression,
		"autoGainControl", cfg.AutoGainControl)
	return &processing{p: p, log: log}
}

// render feeds the frame about to be played. Receiver's goroutine.
func (x *processing) render(pcm []int16) {
	if err := x.p.Render(pcm); err != nil && x.errors.Add(1) == 1 {
		x.log.Warn("audio processing refused a played frame; counting further", "err", err)
	}
}

// played counts a frame the speaker took. Receiver's goroutine.
func (x *processing) played(n int) { x.spkClock.tick(n, time.Now()) }

// latencySource wraps the speaker in one concrete type for atomic.Value.
type latencySource struct{ l hw.Latency }

// playingOn notes the speaker the mix now goes to (at the receiver's start
// and after a swap). Receiver's goroutine.
func (x *processing) playingOn(p hw.Playback) {
	l, _ := p.(hw.Latency)
	x.speaker.Store(latencySource{l})
}

// capture processes a captured frame in place. Sender's goroutine.
func (x *processing) capture(pcm []int16, c hw.Capture) {
	var d time.Duration
	if src, _ := x.speaker.Load().(latencySource); src.l != nil {
		d = src.l.Latency()
	}
	if l, ok := c.(hw.Latency); ok {
		d += l.Latency()
	}
	x.reported.Store(int64(d))
	x.micClock.tick(len(pcm), time.Now())
	if err := x.p.Capture(pcm, d); err != nil && x.errors.Add(1) == 1 {
		x.log.Warn("audio processing refused a captured frame; counting further", "err", err)
	}
}

// reset starts the echo canceller afresh (the other stages keep their
// state): a device was reopened, or the speaker's timing broke. A burst
// restarts it at most every burstResetGap; a reopened device always does.
func (x *processing) reset(why string) { x.resetAt(why, time.Now(), true) }

// resetBurst is reset for a burst of underruns or overruns.
func (x *processing) resetBurst(why string) { x.resetAt(why, time.Now(), false) }

func (x *processing) resetAt(why string, now time.Time, always bool) {
	if last := x.lastReset.Load(); !always && last != 0 && now.Sub(time.Unix(0, last)) < burstResetGap {
		return
	}
	x.lastReset.Store(now.UnixNano())
	if err := x.p.Reset(); err != nil {
		x.log.Warn("resetting the audio processing", "why", why, "err", err)
		return
	}
	x.resets.Add(1)
	x.log.Info("echo canceller reset", "why", why)
}

// burstResetGap spaces the resets bursts ask for: on a loaded machine a
// speaker may underrun in bursts for a while, and the canceller needs time
// to learn the echo again between them.
const burstResetGap = 10 * time.Second

func (x *processing) stats() *media.ProcessingStats {
	cfg, st := x.p.Config(), x.p.Stats()
	ps := &media.ProcessingStats{EchoCancellation: cfg.EchoCancellation, NoiseSuppression: cfg.NoiseSuppression,
		AutoGainControl: cfg.AutoGainControl, EchoDelayMs: -1,
		ReportedDelayMs: float64(time.Duration(x.reported.Load()).Microseconds()) / 1000,
		Resets:          x.resets.Load(), Errors: x.errors.Load()}
	if st.EchoMetrics {
		ps.ERLE = st.ERLE
	}
	if st.Delay >= 0 {
		ps.EchoDelayMs = float64(st.Delay.Microseconds()) / 1000
	}
	if spk, mic := x.spkClock.rateNow(), x.micClock.rateNow(); spk > 0 && mic > 0 {
		ps.ClockDriftPpm, ps.ClockDriftKnown = (spk/mic-1)*1e6, true
	}
	return ps
}

// deviceClock estimates a device's sample rate against the system clock:
// a least-squares line through (time, samples so far), a point a frame, so
// the jitter of single frames (PulseAudio's callbacks come in bursts)
// averages out. It starts again every clockSpan, keeping the last rate.
// tick is one goroutine's; the rate is read through an atomic.
type deviceClock struct {
	t0                  time.Time
	count               float64 // samples since t0
	n, sx, sy, sxx, sxy float64
	rate                atomic.Uint64 // float64 bits: samples a second; 0 until clockMinSpan
	resetDue            atomic.Bool
}

const (
	clockMinSpan = 20 * time.Second  // the least span a rate is told from
	clockSpan    = 300 * time.Second // a fit's longest span
)

func (c *deviceClock) tick(samples int, now time.Time) {
	if c.resetDue.Swap(false) || c.t0.IsZero() || now.Sub(c.t0) > clockSpan {
		c.t0, c.count, c.n, c.sx, c.sy, c.sxx, c.sxy = now, 0, 0, 0, 0, 0, 0
	}
	c.count += float64(samples)
	x, y := now.Sub(c.t0).Seconds(), c.count
	c.n++
	c.sx, c.sy, c.sxx, c.sxy = c.sx+x, c.sy+y, c.sxx+x*x, c.sxy+x*y
	if x < clockMinSpan.Seconds() {
		return
	}
	if d := c.n*c.sxx - c.sx*c.sx; d > 0 {
		c.rate.Store(math.Float64bits((c.n*c.sxy - c.sx*c.sy) / d))
	}
}

// restart drops the fit at the next tick (the device was reopened): its
// clock may be another.
func (c *deviceClock) restart() {
	c.rate.Store(0)
	c.resetDue.Store(true)
}

func (c *deviceClock) rateNow() float64 { return math.Float64frombits(c.rate.Load()) }

func (x *processing) close() { x.p.Close() }

// underrunBurst is how many speaker underruns within underrunWindow make
// the canceller start afresh: the far end it learnt no longer lines up
// with what the microphone hears.
const (
	underrunBurst  = 5
	underrunWindow = time.Second
)

// underruns watches a device's drop count (a speaker's underruns, a
// microphone's overruns) for bursts.
type underruns struct {
	last  uint64
	since time.Time
}

// burst reports whether dev's drops rose by underrunBurst within the
// window; it starts a new window when one passes.
func (u *underruns) burst(dev any, now time.Time) bool {
	dc, ok := dev.(hw.DropCounter)
	if !ok {
		return false
	}
	n := dc.Dropped()
	if u.since.IsZero() || n < u.last {
		u.last, u.since = n, now
		return false
	}
	if n-u.last >= underrunBurst {
		u.last, u.since = n, now
		return true
	}
	if now.Sub(u.since) >= underrunWindow {
		u.last, u.since = n, now
	}
	return false
}
