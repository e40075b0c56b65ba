package audio

import (
	"time"

	"github.com/voipd/voipd/hw"
)

// captureRingFrames is the capture ring's depth: 8 frames (160 ms) absorbs a
// reader's scheduling hiccup and PulseAudio's larger first deliveries, yet a
// reader that stalls for longer loses the oldest audio rather than building
// up latency.
const captureRingFrames = 8

// capture is an open microphone. It implements hw.Capture and hw.DropCounter.
//
// Its device callback is C (mic.go, callbacks.c): it puts what the device
// captured into a ring in C memory and wakes the reader through an fd in
// Go's poller, so a device period costs no call into Go (see playback for
// what that call cost).
type capture struct {
	device
	mic *mic
}

func newCapture(period time.Duration) (*capture, error) {
	m, err := newMic(captureRingFrames, period)
	if err != nil {
		return nil, err
	}
	c := &capture{mic: m}
	c.init(m.waker, period, m.buffered)
	return c, nil
}

// Read blocks until a whole frame (of the reader's length) has been
// captured and copies it out.
func (c *capture) Read(frame []int16) error {
	if !hw.ValidFrameLen(len(frame)) || len(frame) > c.mic.capacity()/2 {
		return &hw.DeviceError{Op: "read", Device: c.info.ID, Kind: hw.ErrInvalid}
	}
	for {
		if err := c.await("read", len(frame)); err != nil {
			return err
		}
		if c.mic.tryGet(frame) {
			return nil
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

// Close unblocks a pending Read, then stops and frees the device.
func (c *capture) Close() error {
	c.close(c)
	return nil
}
