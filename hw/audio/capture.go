package audio

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

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
//
// Its device callback is C (mic.go, callbacks.c): it puts what the device
// captured into a ring in C memory and wakes the reader through an fd in
// Go's poller, so a device period costs no call into Go (see playback for
// what that call cost).
type capture struct {
	sys  *System
	dev  *malgo.Device
	info hw.DeviceInfo
	mic  *mic

	done chan struct{} // closed by Close

	stopped atomic.Bool
	stalled atomic.Bool // stopped because the callbacks stopped (watchStall)
	once    sync.Once
	period  time.Duration

	// The one reader's wait: a frame of want samples (or done, or
	// stopped). Made once, so waiting allocates nothing.
	want    int
	waitFor func(uintptr) bool
}

func newCapture(period time.Duration) (*capture, error) {
	m, err := newMic(captureRingFrames, period)
	if err != nil {
		return nil, err
	}
	c := &capture{mic: m, done: make(chan struct{}), period: period}
	c.waitFor = m.waitFunc(c.ready)
	return c, nil
}

// ready is the reader's wait condition.
func (c *capture) ready() bool {
	select {
	case <-c.done:
		return true
	default:
	}
	return c.stopped.Load() || c.mic.buffered() >= c.want
}

func (c *capture) onStop() {
	c.stopped.Store(true)
	c.mic.signal()
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
	if !hw.ValidFrameLen(len(frame)) || len(frame) > c.mic.capacity()/2 {
		return &hw.DeviceError{Op: "read", Device: c.info.ID, Kind: hw.ErrInvalid}
	}
	for {
		select {
		case <-c.done:
			return &hw.DeviceError{Op: "read", Device: c.info.ID, Kind: hw.ErrClosed}
		default:
		}
		if c.mic.tryGet(frame) {
			return nil
		}
		if c.stopped.Load() {
			return stoppedError("read", c.info.ID, c.done, c.why())
		}
		c.want = len(frame)
		if err := c.mic.wait(c.waitFor); err != nil {
			select {
			case <-c.done:
			default:
				return &hw.DeviceError{Op: "read", Device: c.info.ID, Kind: hw.ErrUnavailable, Err: err}
			}
		}
	}
}

// Info describes the device.
func (c *capture) Info() hw.DeviceInfo { return c.info }

// Latency is what was captured and not yet read (the device's own buffer
// may hold more: never over-reported).
func (c *capture) Latency() time.Duration {
	return time.Duration(c.mic.buffered()) * time.Second / hw.SampleRate
}

// Dropped counts frames lost because the reader fell behind.
func (c *capture) Dropped() uint64 { return c.mic.dropped() }

// CallbackLateness reports the worst lateness of a device callback since
// the device opened (see lateness: the same rule, kept in C), and how many
// came more than one period late.
func (c *capture) CallbackLateness() (worst time.Duration, late, callbacks uint64) {
	return c.mic.lateness()
}

// Close unblocks a pending Read, then stops and frees the device (which
// waits for a running callback to return), then closes the wakeup fds; the
// ring's memory goes with the last reference (newMic).
func (c *capture) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.mic.signal()
		if c.sys != nil {
			c.sys.untrack(c)
		}
		if c.dev != nil {
			stopAndFree(c.dev)
		}
		c.mic.close()
	})
	return nil
}
