package pipeline

import (
	"log/slog"
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

	speaker  atomic.Value // latencySource: the speaker the receiver plays on
	reported atomic.Int64 // ns: the delay last told to the canceller
	resets   atomic.Uint64
	errors   atomic.Uint64
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
	if err := x.p.Capture(pcm, d); err != nil && x.errors.Add(1) == 1 {
		x.log.Warn("audio processing refused a captured frame; counting further", "err", err)
	}
}

// reset starts the processing afresh: a device was reopened, or the
// speaker's timing broke.
func (x *processing) reset(why string) {
	if err := x.p.Reset(); err != nil {
		x.log.Warn("resetting the audio processing", "why", why, "err", err)
		return
	}
	x.resets.Add(1)
	x.log.Info("audio processing reset", "why", why)
}

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
	return ps
}

func (x *processing) close() { x.p.Close() }

// underrunBurst is how many speaker underruns within underrunWindow make
// the canceller start afresh: the far end it learnt no longer lines up
// with what the microphone hears.
const (
	underrunBurst  = 5
	underrunWindow = time.Second
)

// underruns watches a speaker's underrun count for bursts.
type underruns struct {
	last  uint64
	since time.Time
}

// burst reports whether p's underruns rose by underrunBurst within the
// window; it starts a new window when one passes.
func (u *underruns) burst(p hw.Playback, now time.Time) bool {
	dc, ok := p.(hw.DropCounter)
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
