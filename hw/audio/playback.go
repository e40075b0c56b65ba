package audio

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"
	"github.com/voipd/voipd/hw"
)

// playbackRingFrames is the playback ring's depth: 4 frames (80 ms) on top of
// the device's own buffer keeps the writer ahead of the callback without
// adding much latency; Write blocks while it is full, so the device clock
// paces the writer.
const playbackRingFrames = 4

// playback is an open speaker. It implements hw.Playback and hw.DropCounter.
//
// Its device callback is C (speaker.go): it plays from a ring in C memory
// and wakes the writer through an fd in Go's poller, so a device period
// costs no call into Go. A C thread calling Go keeps a P in its system-call
// state after each return, which Go's monitor thread then has to take
// back: with the callback in Go, each period cost about four more context
// switches (docs/BENCHMARKS.md).
type playback struct {
	sys  *System
	dev  *malgo.Device
	info hw.DeviceInfo
	spk  *speaker

	done chan struct{}

	stopped atomic.Bool // the backend stopped the device
	stalled atomic.Bool // stopped because the callbacks stopped (watchStall)
	once    sync.Once
	period  time.Duration

	// The one writer's wait: want samples of room (or done, or stopped).
	// Made once, so waiting allocates nothing.
	want    int
	waitFor func(uintptr) bool
}

func newPlayback(period time.Duration) (*playback, error) {
	spk, err := newSpeaker(playbackRingFrames, period)
	if err != nil {
		return nil, err
	}
	p := &playback{spk: spk, done: make(chan struct{}), period: period}
	p.waitFor = spk.waitFunc(p.ready)
	return p, nil
}

// ready is the writer's wait condition.
func (p *playback) ready() bool {
	select {
	case <-p.done:
		return true
	default:
	}
	return p.stopped.Load() || p.spk.room() >= p.want
}

func (p *playback) onStop() {
	p.stopped.Store(true)
	p.spk.signal()
}

// stall is watchStall's verdict: the device stopped calling back.
func (p *playback) stall() {
	p.stalled.Store(true)
	p.onStop()
}

// why says how the backend stopped the device.
func (p *playback) why() error {
	if p.stalled.Load() {
		return errStalled
	}
	return errStopped
}

// Write queues one frame, blocking while the ring is full.
func (p *playback) Write(frame []int16) error {
	if !hw.ValidFrameLen(len(frame)) || len(frame) > len(p.spk.buf) {
		return &hw.DeviceError{Op: "write", Device: p.info.ID, Kind: hw.ErrInvalid}
	}
	if err := p.WaitReady(len(frame)); err != nil {
		if de, ok := err.(*hw.DeviceError); ok {
			de.Op = "write"
		}
		return err
	}
	if !p.spk.tryPut(frame) { // one writer: the room WaitReady saw is still there
		return &hw.DeviceError{Op: "write", Device: p.info.ID, Kind: hw.ErrUnavailable, Err: errOneWriter}
	}
	p.spk.start()
	return nil
}

// errOneWriter: a speaker takes one writer at a time.
var errOneWriter = errors.New("concurrent writers")

// WaitReady blocks until the ring has room for samples, so the next Write
// of that many does not block and the writer can produce the frame as late
// as possible.
func (p *playback) WaitReady(samples int) error {
	for {
		select {
		case <-p.done:
			return &hw.DeviceError{Op: "wait", Device: p.info.ID, Kind: hw.ErrClosed}
		default:
		}
		if p.spk.room() >= samples {
			return nil
		}
		if p.stopped.Load() {
			return stoppedError("wait", p.info.ID, p.done, p.why())
		}
		p.want = samples
		if err := p.spk.wait(p.waitFor); err != nil {
			select {
			case <-p.done:
			default:
				return &hw.DeviceError{Op: "wait", Device: p.info.ID, Kind: hw.ErrUnavailable, Err: err}
			}
		}
	}
}

// Info describes the device.
func (p *playback) Info() hw.DeviceInfo { return p.info }

// Latency is what is queued ahead of the sample being played: the ring,
// and the period the device is playing (its own buffer may hold more:
// never over-reported).
func (p *playback) Latency() time.Duration {
	return time.Duration(p.spk.buffered())*time.Second/hw.SampleRate + p.period
}

// Dropped counts underruns: device periods that found less than a period
// queued once playback had begun, and were padded with silence.
func (p *playback) Dropped() uint64 { return p.spk.underruns() }

// CallbackLateness reports the worst lateness of a device callback since
// the device opened (see lateness: the same rule, kept in C), and how many
// came more than one period late.
func (p *playback) CallbackLateness() (worst time.Duration, late, callbacks uint64) {
	return p.spk.lateness()
}

// Close unblocks a pending Write, then stops and frees the device, then
// closes the wakeup fds (no callback runs after the device is freed); the
// ring's memory goes with the last reference (newSpeaker).
func (p *playback) Close() error {
	p.once.Do(func() {
		close(p.done)
		p.spk.signal()
		if p.sys != nil {
			p.sys.untrack(p)
		}
		if p.dev != nil {
			stopAndFree(p.dev)
		}
		p.spk.close()
	})
	return nil
}
