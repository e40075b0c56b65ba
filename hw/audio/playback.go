package audio

import (
	"errors"
	"time"

	"github.com/voipd/voipd/hw"
)

// playbackRingFrames is the playback ring's depth: 4 frames (80 ms) on top of
// the device's own buffer keeps the writer ahead of the callback without
// adding much latency; Write blocks while it is full, so the device clock
// paces the writer.
const playbackRingFrames = 4

// playback is an open speaker. It implements hw.Playback and hw.DropCounter.
//
// Its device callback is C (speaker.go, callbacks.c): it plays from a ring in C memory
// and wakes the writer through an fd in Go's poller once the ring has the
// room the writer waits for, so a device period costs no call into Go, and
// no wakeup at all while the writer keeps the ring full from a wakeup of
// its own (Room). A C thread calling Go keeps a P in its system-call
// state after each return, which Go's monitor thread then has to take
// back: with the callback in Go, each period cost about four more context
// switches (docs/BENCHMARKS.md).
type playback struct {
	device
	spk *speaker
}

func newPlayback(period time.Duration) (*playback, error) {
	spk, err := newSpeaker(playbackRingFrames, period)
	if err != nil {
		return nil, err
	}
	p := &playback{spk: spk}
	p.init(spk.waker, period, spk.room)
	p.tell = spk.tell
	return p, nil
}

// Write queues one frame, blocking while the ring is full.
func (p *playback) Write(frame []int16) error {
	if !hw.ValidFrameLen(len(frame)) || len(frame) > len(p.spk.buf) {
		return &hw.DeviceError{Op: "write", Device: p.info.ID, Kind: hw.ErrInvalid}
	}
	if err := p.await("write", len(frame)); err != nil {
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
func (p *playback) WaitReady(samples int) error { return p.await("wait", samples) }

// Room is how many samples a Write would take now without blocking
// (hw.RoomReporter): the writer may top the ring up from a wakeup of its
// own, and WaitReady for more room meanwhile, which the callback then
// wakes it for only once the ring has drained that far.
func (p *playback) Room() int { return p.spk.room() }

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

// Close unblocks a pending Write, then stops and frees the device.
func (p *playback) Close() error {
	p.close(p)
	return nil
}
