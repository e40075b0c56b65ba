package bench

import (
	"math"
	"sync"
	"time"

	"github.com/voipd/voipd/hw"
)

// The mouth-to-ear measurement sends clicks (short 1 kHz bursts after
// silence) from one member's capture and detects them at the other's
// playback. Times are on the device clocks these synthetic devices imitate,
// read from Go's monotonic clock.

// ClickBurst is the click: this many samples of a 1 kHz sine (5 ms).
const ClickBurst = hw.SampleRate / 200

// ClickAmplitude is the burst's peak, half of full scale.
const ClickAmplitude = 16000

// WriteClick fills frame with silence and, when click is set, a burst
// starting at its first sample.
func WriteClick(frame []int16, click bool) {
	clear(frame)
	if !click {
		return
	}
	for i := 0; i < ClickBurst && i < len(frame); i++ {
		frame[i] = int16(ClickAmplitude * math.Sin(2*math.Pi*1000*float64(i)/hw.SampleRate))
	}
}

// Detector finds click onsets in a stream of frames: the first sample whose
// magnitude reaches Threshold after at least Quiet samples below it.
type Detector struct {
	Threshold int
	Quiet     int // samples below the threshold that re-arm the detector
	below     int
	armed     bool
}

// NewDetector returns a detector for clicks of ClickAmplitude that passed
// a lossy codec (a quarter of the amplitude), re-armed after 100 ms.
func NewDetector() *Detector {
	return &Detector{Threshold: ClickAmplitude / 4, Quiet: hw.SampleRate / 10}
}

// Feed scans one frame and returns the sample offset of an onset in it.
func (d *Detector) Feed(frame []int16) (offset int, found bool) {
	offset = -1
	for i, s := range frame {
		if abs(int(s)) >= d.Threshold {
			if d.armed && offset < 0 {
				offset, found = i, true
				d.armed = false
			}
			d.below = 0
			continue
		}
		d.below++
		if d.below >= d.Quiet {
			d.armed = true
		}
	}
	return offset, found
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// clock imitates a device clock: frame n is due at start + (n+1)·20 ms.
type clock struct {
	start time.Time
	n     int64
	done  chan struct{}
	once  sync.Once
}

func newClock() *clock { return &clock{start: time.Now(), done: make(chan struct{})} }

// wait blocks until the next frame is due and returns its index and the
// instant its first sample was captured (or starts playing).
func (c *clock) wait() (int64, time.Time, error) {
	due := c.start.Add(time.Duration(c.n+1) * hw.FrameMillis * time.Millisecond)
	t := time.NewTimer(time.Until(due))
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.done:
		return 0, time.Time{}, &hw.DeviceError{Op: "wait", Device: "click", Kind: hw.ErrClosed}
	}
	n := c.n
	c.n++
	return n, due, nil
}

func (c *clock) close() { c.once.Do(func() { close(c.done) }) }

// ClickCapture is a synthetic microphone: silence with a click at the start
// of every Every-th frame. Each click's sent time is the instant its first
// sample would have reached a real microphone: the start of its frame on
// the device clock (the frame is handed over 20 ms later, when complete).
type ClickCapture struct {
	Every int
	c     *clock
	mu    sync.Mutex
	sent  []time.Time
}

// NewClickCapture starts the device clock.
func NewClickCapture(every int) *ClickCapture { return &ClickCapture{Every: every, c: newClock()} }

func (k *ClickCapture) Read(frame []int16) error {
	n, due, err := k.c.wait()
	if err != nil {
		return err
	}
	click := n > 0 && n%int64(k.Every) == 0
	WriteClick(frame, click)
	if click {
		k.mu.Lock()
		k.sent = append(k.sent, due.Add(-hw.FrameMillis*time.Millisecond))
		k.mu.Unlock()
	}
	return nil
}

// Sent returns the clicks' sent times so far.
func (k *ClickCapture) Sent() []time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]time.Time(nil), k.sent...)
}

func (k *ClickCapture) Info() hw.DeviceInfo {
	return hw.DeviceInfo{ID: "click", Name: "bench click source", Backend: "bench", Synthetic: true}
}
func (k *ClickCapture) Close() error { k.c.close(); return nil }

// ClickPlayback is a synthetic speaker with one period of buffer: a frame
// written when its slot comes up starts playing one period later. It
// records when each detected click's onset leaves the speaker.
type ClickPlayback struct {
	c     *clock
	det   *Detector
	mu    sync.Mutex
	heard []time.Time
}

// NewClickPlayback starts the device clock.
func NewClickPlayback() *ClickPlayback { return &ClickPlayback{c: newClock(), det: NewDetector()} }

func (p *ClickPlayback) Write(frame []int16) error {
	_, due, err := p.c.wait()
	if err != nil {
		return err
	}
	if off, ok := p.det.Feed(frame); ok {
		at := due.Add(hw.FrameMillis*time.Millisecond + time.Duration(off)*time.Second/hw.SampleRate)
		p.mu.Lock()
		p.heard = append(p.heard, at)
		p.mu.Unlock()
	}
	return nil
}

// Heard returns the detected onsets' play times so far.
func (p *ClickPlayback) Heard() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.heard...)
}

func (p *ClickPlayback) Info() hw.DeviceInfo {
	return hw.DeviceInfo{ID: "ear", Name: "bench click detector", Backend: "bench", Synthetic: true}
}
func (p *ClickPlayback) Close() error { p.c.close(); return nil }

// MatchClicks pairs each heard onset with the latest click sent before it
// and returns the delays; an onset more than window after its click, or
// with none before it, is left out (a false detection).
func MatchClicks(sent, heard []time.Time, window time.Duration) []time.Duration {
	var out []time.Duration
	for _, h := range heard {
		var best time.Time
		for _, s := range sent {
			if !s.After(h) && s.After(best) {
				best = s
			}
		}
		if !best.IsZero() && h.Sub(best) <= window {
			out = append(out, h.Sub(best))
		}
	}
	return out
}
