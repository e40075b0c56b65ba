package audio

import (
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
	"github.com/voipd/voipd/hw"
)

// playbackRingFrames is the playback ring's depth: 4 frames (80 ms) on top of
// the device's own buffer keeps the writer ahead of the callback without
// adding much latency; Write blocks while it is full, so the device clock
// paces the writer.
const playbackRingFrames = 4

// playback is an open speaker. It implements hw.Playback and hw.DropCounter.
type playback struct {
	sys  *System
	dev  *malgo.Device
	info hw.DeviceInfo

	ring  *ring
	space chan struct{} // signalled (never blocking) after each callback
	done  chan struct{}

	started   atomic.Bool   // a frame has been written: silence counts as underrun
	stopped   atomic.Bool   // the backend stopped the device
	stalled   atomic.Bool   // stopped because the callbacks stopped (watchStall)
	underruns atomic.Uint64 // callbacks that found too little queued
	samples   atomic.Uint64 // samples pulled by the device: for watchStall and tests
	once      sync.Once
	lateness
}

// onData runs on miniaudio's audio thread: it takes what is queued and plays
// silence for the rest, never waiting for the writer.
func (p *playback) onData(out, _ []byte, _ uint32) {
	if len(out) < 2 {
		return
	}
	pcm := unsafe.Slice((*int16)(unsafe.Pointer(&out[0])), len(out)/2)
	p.observe(len(pcm))
	n := p.ring.get(pcm)
	if n < len(pcm) {
		clear(pcm[n:])
		if p.started.Load() {
			p.underruns.Add(1)
		}
	}
	p.samples.Add(uint64(len(pcm)))
	select {
	case p.space <- struct{}{}:
	default:
	}
}

func (p *playback) onStop() {
	p.stopped.Store(true)
	select {
	case p.space <- struct{}{}:
	default:
	}
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
	if !hw.ValidFrameLen(len(frame)) || len(frame) > len(p.ring.buf) {
		return &hw.DeviceError{Op: "write", Device: p.info.ID, Kind: hw.ErrInvalid}
	}
	for {
		select {
		case <-p.done:
			return &hw.DeviceError{Op: "write", Device: p.info.ID, Kind: hw.ErrClosed}
		default:
		}
		if p.ring.tryPut(frame) {
			p.started.Store(true)
			return nil
		}
		if p.stopped.Load() {
			return stoppedError("write", p.info.ID, p.done, p.why())
		}
		select {
		case <-p.space:
		case <-p.done:
		}
	}
}

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
		if p.ring.room() >= samples {
			return nil
		}
		if p.stopped.Load() {
			return stoppedError("wait", p.info.ID, p.done, p.why())
		}
		select {
		case <-p.space:
		case <-p.done:
		}
	}
}

// Info describes the device.
func (p *playback) Info() hw.DeviceInfo { return p.info }

// Latency is what is queued ahead of the sample being played: the ring,
// and the period the device is playing (its own buffer may hold more:
// never over-reported).
func (p *playback) Latency() time.Duration {
	return time.Duration(p.ring.buffered())*time.Second/hw.SampleRate + p.period
}

// Dropped counts underruns: device periods that found less than a period
// queued once playback had begun, and were padded with silence.
func (p *playback) Dropped() uint64 { return p.underruns.Load() }

// Close unblocks a pending Write, then stops and frees the device.
func (p *playback) Close() error {
	p.once.Do(func() {
		close(p.done)
		p.sys.untrack(p)
		stopAndFree(p.dev)
	})
	return nil
}
