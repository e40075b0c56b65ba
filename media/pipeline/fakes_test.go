package pipeline

import (
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/hw"
)

// toneCapture is a microphone playing a sine (frequency 0: silence),
// paced by a 20 ms ticker like a device clock, or unpaced when tick is nil.
type toneCapture struct {
	freq  atomic.Uint64 // float64 bits
	amp   float64
	phase float64
	tick  *time.Ticker
	fail  atomic.Pointer[error]
	reads atomic.Uint64
}

func newToneCapture(freq float64, paced bool) *toneCapture {
	c := &toneCapture{amp: 8000}
	c.setFreq(freq)
	if paced {
		c.tick = time.NewTicker(hw.FrameMillis * time.Millisecond)
	}
	return c
}

// newToneCaptureMs is a paced tone for frames of ms milliseconds.
func newToneCaptureMs(freq float64, ms int) *toneCapture {
	c := newToneCapture(freq, false)
	c.tick = time.NewTicker(time.Duration(ms) * time.Millisecond)
	return c
}

func (c *toneCapture) setFreq(f float64)  { c.freq.Store(math.Float64bits(f)) }
func (c *toneCapture) failWith(err error) { c.fail.Store(&err) }

func (c *toneCapture) Read(frame []int16) error {
	if c.tick != nil {
		<-c.tick.C
	}
	if err := c.fail.Load(); err != nil {
		return *err
	}
	c.reads.Add(1)
	if f := math.Float64frombits(c.freq.Load()); f > 0 {
		c.phase = dsp.Sine(frame, f, hw.SampleRate, c.amp, c.phase)
	} else {
		clear(frame)
	}
	return nil
}

func (c *toneCapture) Info() hw.DeviceInfo { return hw.DeviceInfo{ID: "tone", Synthetic: true} }
func (c *toneCapture) Close() error {
	if c.tick != nil {
		c.tick.Stop()
	}
	return nil
}

// recordPlayback is a speaker that keeps every frame, paced by a ticker.
type recordPlayback struct {
	tick   *time.Ticker
	fail   atomic.Pointer[error]
	mu     sync.Mutex
	frames [][]int16
}

func newRecordPlayback() *recordPlayback { return newRecordPlaybackMs(hw.FrameMillis) }

// newRecordPlaybackMs is a speaker taking a frame every ms milliseconds.
func newRecordPlaybackMs(ms int) *recordPlayback {
	return &recordPlayback{tick: time.NewTicker(time.Duration(ms) * time.Millisecond)}
}

func (p *recordPlayback) Write(frame []int16) error {
	<-p.tick.C
	if err := p.fail.Load(); err != nil {
		return *err
	}
	p.mu.Lock()
	p.frames = append(p.frames, append([]int16(nil), frame...))
	p.mu.Unlock()
	return nil
}

func (p *recordPlayback) Info() hw.DeviceInfo { return hw.DeviceInfo{ID: "recorder", Synthetic: true} }
func (p *recordPlayback) Close() error        { p.tick.Stop(); return nil }

func (p *recordPlayback) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.frames)
}

// last returns the last n frames played, joined.
func (p *recordPlayback) last(n int) []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int16
	for _, f := range p.frames[max(0, len(p.frames)-n):] {
		out = append(out, f...)
	}
	return out
}

// rtpPipe carries marshalled RTP from a writer to a reader in memory,
// dropping a seeded random share of packets and swapping neighbours.
type rtpPipe struct {
	ch   chan []byte
	done chan struct{}
	once sync.Once

	mu      sync.Mutex
	rng     *rand.Rand
	loss    float64 // 0..1
	reorder float64 // 0..1: share of packets held back behind the next one
	held    []byte

	written, dropped atomic.Uint64
}

func newRTPPipe(seed uint64, loss, reorder float64) *rtpPipe {
	return &rtpPipe{
		ch: make(chan []byte, 512), done: make(chan struct{}),
		rng: rand.New(rand.NewPCG(seed, 1)), loss: loss, reorder: reorder,
	}
}

func (p *rtpPipe) WriteRTP(pkt *rtp.Packet) error {
	b, err := pkt.Marshal()
	if err != nil {
		return err
	}
	p.written.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rng.Float64() < p.loss {
		p.dropped.Add(1)
		return nil
	}
	if p.held == nil && p.rng.Float64() < p.reorder {
		p.held = b
		return nil
	}
	p.send(b)
	if p.held != nil {
		p.send(p.held)
		p.held = nil
	}
	return nil
}

func (p *rtpPipe) send(b []byte) {
	select {
	case p.ch <- b:
	default:
		p.dropped.Add(1)
	}
}

func (p *rtpPipe) Read(b []byte) (int, interceptor.Attributes, error) {
	select {
	case pkt := <-p.ch:
		return copy(b, pkt), nil, nil
	case <-p.done:
		return 0, nil, io.EOF
	}
}

func (p *rtpPipe) Close() { p.once.Do(func() { close(p.done) }) }

// countingWriter marshals into one reused buffer, like pion's WriteRTP,
// and keeps the headers it saw.
type countingWriter struct {
	buf     [1500]byte
	n       int
	keep    bool
	headers []rtp.Header
}

func (w *countingWriter) WriteRTP(p *rtp.Packet) error {
	if _, err := p.MarshalTo(w.buf[:]); err != nil {
		return err
	}
	w.n++
	if w.keep {
		w.headers = append(w.headers, p.Header.Clone())
	}
	return nil
}
