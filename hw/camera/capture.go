//go:build linux

package camera

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/voipd/voipd/hw"
)

// capture is an open, streaming V4L2 camera. It implements hw.Camera and
// hw.DropCounter.
//
// ReadFrame polls in slices of waitSlice and takes the lock only for one
// slice at a time, so Close (which needs the lock to unmap the buffers the
// reader may be dequeuing) waits at most one slice; closing the fd under a
// poll in progress would not wake it.
type capture struct {
	dev       device
	info      hw.CameraInfo
	format    hw.PixelFormat
	width     int
	height    int
	frameSize int // bytes of one raw frame; 0 for MJPEG (variable)
	waitSlice time.Duration
	stall     time.Duration

	mu      sync.Mutex // serialises device calls between ReadFrame and Close
	closed  atomic.Bool
	once    sync.Once
	buf     []byte // the frame handed out, reused
	seq     uint64 // the next frame's Seq
	dropped atomic.Uint64
}

// rawFrameSize is the size of a frame in a raw format; 0 for MJPEG.
func rawFrameSize(f hw.PixelFormat, w, h int) int {
	switch f {
	case hw.FormatYUYV:
		return w * h * 2
	case hw.FormatNV12, hw.FormatI420:
		return w*h + 2*((w+1)/2)*((h+1)/2)
	}
	return 0
}

// ReadFrame blocks until the camera delivers a frame and returns a copy of
// it in the camera's own buffer, valid until the next ReadFrame; the
// driver's buffer goes straight back to the driver. When several frames
// are waiting (the reader was late), the newest is returned and the older
// ones count as dropped, so the reader never works through stale frames.
// No frame within the stall timeout is an hw.ErrUnavailable error; a camera
// that was unplugged gives hw.ErrAbsent.
func (c *capture) ReadFrame() (hw.VideoFrame, error) {
	deadline := time.Now().Add(c.stall)
	for {
		c.mu.Lock()
		if c.closed.Load() {
			c.mu.Unlock()
			return hw.VideoFrame{}, &hw.DeviceError{Op: "read frame", Device: c.info.ID, Kind: hw.ErrClosed}
		}
		err := c.dev.Wait(c.waitSlice)
		if err == nil {
			var f hw.VideoFrame
			var ok bool
			f, ok, err = c.take()
			c.mu.Unlock()
			if ok {
				return f, nil
			}
			if err != nil {
				return hw.VideoFrame{}, deviceError("read frame", c.info.ID, err)
			}
			continue // woken without a frame, or a short frame skipped
		}
		c.mu.Unlock()
		if !errors.Is(err, errWaitTimeout) {
			return hw.VideoFrame{}, deviceError("read frame", c.info.ID, err)
		}
		if time.Now().After(deadline) {
			return hw.VideoFrame{}, deviceError("read frame", c.info.ID,
				fmt.Errorf("no frame for %v: %w", c.stall, err))
		}
	}
}

// take dequeues the newest ready buffer, copies it and requeues it. ok is
// false, with a nil error, when no buffer was ready after all (EAGAIN) or
// the frame was short (a driver's corrupt frame, counted as dropped).
// c.mu is held.
func (c *capture) take() (f hw.VideoFrame, ok bool, err error) {
	data, index, err := c.dev.Dequeue()
	if errors.Is(err, syscall.EAGAIN) {
		return f, false, nil
	}
	if err != nil {
		return f, false, err
	}
	for {
		next, nextIndex, err := c.dev.Dequeue()
		if errors.Is(err, syscall.EAGAIN) {
			break
		}
		if err != nil {
			c.dev.Release(index)
			return f, false, err
		}
		if err := c.dev.Release(index); err != nil {
			c.dev.Release(nextIndex)
			return f, false, err
		}
		c.seq++
		c.dropped.Add(1)
		data, index = next, nextIndex
	}
	captured := time.Now()
	short := c.frameSize > 0 && len(data) < c.frameSize
	if !short {
		if c.frameSize > 0 {
			data = data[:c.frameSize] // drivers may report padding as used
		}
		c.buf = append(c.buf[:0], data...) // allocates only while growing
	}
	if err := c.dev.Release(index); err != nil {
		return f, false, err
	}
	seq := c.seq
	c.seq++
	if short {
		c.dropped.Add(1)
		return f, false, nil
	}
	return hw.VideoFrame{Format: c.format, Width: c.width, Height: c.height, Data: c.buf, Captured: captured, Seq: seq}, true, nil
}

// Info describes the camera.
func (c *capture) Info() hw.CameraInfo { return c.info }

// Dropped counts frames lost: stale frames skipped for a newer one and
// short frames. Frames the driver itself dropped while all its buffers were
// full are not seen: blackjack/webcam does not expose v4l2_buffer.sequence.
func (c *capture) Dropped() uint64 { return c.dropped.Load() }

// Close stops streaming and closes the device, after a pending ReadFrame's
// current wait slice; that ReadFrame and later ones return hw.ErrClosed.
// Close is idempotent.
func (c *capture) Close() error {
	var err error
	c.once.Do(func() {
		c.closed.Store(true)
		c.mu.Lock()
		defer c.mu.Unlock()
		if e := c.dev.Close(); e != nil {
			err = deviceError("close", c.info.ID, e)
		}
	})
	return err
}
