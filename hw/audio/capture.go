package audio

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
	"github.com/voipd/voipd/hw"
)

// captureRingFrames is the capture ring's depth: 8 frames (160 ms) absorbs a
// reader's scheduling hiccup and PulseAudio's larger first deliveries, yet a
// reader that stalls for longer loses the oldest audio rather than building
// up latency.
const captureRingFrames = 8

// errStopped reports that the backend stopped the device (unplugged, server
// gone) while it was open.
var errStopped = errors.New("device stopped by the backend")

// stoppedError is the error of a Read or Write on a stopped device: closed
// if Close stopped it, else unavailable (the backend stopped it, or it
// stalled: why).
func stoppedError(op, id string, done <-chan struct{}, why error) error {
	select {
	case <-done:
		return &hw.DeviceError{Op: op, Device: id, Kind: hw.ErrClosed}
	default:
		return &hw.DeviceError{Op: op, Device: id, Kind: hw.ErrUnavailable, Err: why}
	}
}

// capture is an open microphone. It implements hw.Capture and hw.DropCounter.
type capture struct {
	sys  *System
	dev  *malgo.Device
	info hw.DeviceInfo

	ring  *ring
	ready chan struct{} // signalled (never blocking) after each callback
	done  chan struct{} // closed by Close

	stopped atomic.Bool
	stalled atomic.Bool   // stopped because the callbacks stopped (watchStall)
	dropped atomic.Uint64 // frames lost to overruns
	samples atomic.Uint64 // samples delivered by the device: for watchStall and tests
	once    sync.Once
	lateness
}

// onData runs on miniaudio's audio thread. miniaudio reuses in, so it is
// copied into the ring before returning; nothing here blocks or allocates.
func (c *capture) onData(_, in []byte, _ uint32) {
	if len(in) < 2 {
		return
	}
	// S16 in the machine's byte order, as miniaudio delivers it; its buffers
	// are aligned for the sample type.
	pcm := unsafe.Slice((*int16)(unsafe.Pointer(&in[0])), len(in)/2)
	c.observe(len(pcm))
	if n := c.ring.put(pcm); n > 0 {
		c.dropped.Add(uint64(n))
	}
	c.samples.Add(uint64(len(pcm)))
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

func (c *capture) onStop() {
	c.stopped.Store(true)
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

// stall is watchStall's verdict: the device stopped calling back.
func (c *capture) stall() {
	c.stalled.Store(true)
	c.onStop()
}

// why says how the backend stopped the device.
func (c *capture) why() error {
	if c.stalled.Load() {
		return errStalled
	}
	return errStopped
}

// Read blocks until a whole frame (of the reader's length) has been
// captured and copies it out.
func (c *capture) Read(frame []int16) error {
	if !hw.ValidFrameLen(len(frame)) || len(frame) > len(c.ring.buf)/2 {
		return &hw.DeviceError{Op: "read", Device: c.info.ID, Kind: hw.ErrInvalid}
	}
	for {
		select {
		case <-c.done:
			return &hw.DeviceError{Op: "read", Device: c.info.ID, Kind: hw.ErrClosed}
		default:
		}
		if c.ring.tryGet(frame) {
			return nil
		}
		if c.stopped.Load() {
			return stoppedError("read", c.info.ID, c.done, c.why())
		}
		select {
		case <-c.ready:
		case <-c.done:
		}
	}
}

// Info describes the device.
func (c *capture) Info() hw.DeviceInfo { return c.info }

// Latency is what was captured and not yet read (the device's own buffer
// may hold more: never over-reported).
func (c *capture) Latency() time.Duration {
	return time.Duration(c.ring.buffered()) * time.Second / hw.SampleRate
}

// Dropped counts frames lost because the reader fell behind.
func (c *capture) Dropped() uint64 { return c.dropped.Load() }

// Close unblocks a pending Read, then stops and frees the device (which
// waits for a running callback to return).
func (c *capture) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.sys.untrack(c)
		stopAndFree(c.dev)
	})
	return nil
}
