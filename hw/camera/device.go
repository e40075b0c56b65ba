//go:build linux

package camera

import (
	"errors"
	"fmt"
	"time"

	"github.com/blackjack/webcam"
)

// device is the part of a V4L2 device this package uses, so tests can put a
// fake kernel behind it. Implementations return the kernel's own errors
// (syscall.Errno) unchanged; deviceError classifies them.
type device interface {
	// Name is the driver's card name (VIDIOC_QUERYCAP).
	Name() (string, error)
	// Formats lists the pixel formats (fourcc codes) for capture.
	Formats() []webcam.PixelFormat
	// Sizes lists the frame sizes of a format, discrete or stepwise.
	Sizes(f webcam.PixelFormat) []webcam.FrameSize
	// Rates lists the frame intervals of a format at a size.
	Rates(f webcam.PixelFormat, width, height int) []webcam.FrameRate
	// SetFormat asks for a mode and returns the one the driver set.
	SetFormat(f webcam.PixelFormat, width, height int) (webcam.PixelFormat, int, int, error)
	// SetFPS asks for a frame rate; drivers without VIDIOC_S_PARM fail it.
	SetFPS(fps int) error
	// Start maps buffers buffers and starts streaming.
	Start(buffers int) error
	// Wait blocks until a buffer is ready, at most timeout (whole seconds,
	// rounded up: blackjack/webcam's poll takes seconds); errWaitTimeout
	// when none came.
	Wait(timeout time.Duration) error
	// Dequeue takes the oldest filled buffer (syscall.EAGAIN when none):
	// data is the driver's mmap memory, valid until Release(index).
	Dequeue() (data []byte, index uint32, err error)
	// Release gives a buffer back to the driver.
	Release(index uint32) error
	// Close stops streaming, unmaps the buffers and closes the node.
	Close() error
}

// opener opens a device node; production uses openV4L2.
type opener func(path string) (device, error)

var (
	// errWaitTimeout is Wait's "no frame within the timeout".
	errWaitTimeout = errors.New("timed out waiting for a frame")
	// errNotCapture marks a node that cannot capture video by streaming
	// (an output, a codec, a radio).
	errNotCapture = errors.New("not a video capture device")
)

// v4l2Device is a device through blackjack/webcam's ioctls.
type v4l2Device struct {
	cam *webcam.Webcam
}

// openV4L2 opens a node with blackjack/webcam. Its Open refuses a node
// without the capture and streaming capabilities with a plain error string,
// which is turned into errNotCapture here, the only place that knows them.
func openV4L2(path string) (device, error) {
	cam, err := webcam.Open(path)
	if err != nil {
		switch err.Error() {
		case "Not a video capture device", "Device does not support the streaming I/O method":
			return nil, fmt.Errorf("%v: %w", err, errNotCapture)
		}
		return nil, err
	}
	return &v4l2Device{cam: cam}, nil
}

func (d *v4l2Device) Name() (string, error) { return d.cam.GetName() }

func (d *v4l2Device) Formats() []webcam.PixelFormat {
	m := d.cam.GetSupportedFormats()
	out := make([]webcam.PixelFormat, 0, len(m))
	for f := range m {
		out = append(out, f)
	}
	return out
}

func (d *v4l2Device) Sizes(f webcam.PixelFormat) []webcam.FrameSize {
	return d.cam.GetSupportedFrameSizes(f)
}

func (d *v4l2Device) Rates(f webcam.PixelFormat, width, height int) []webcam.FrameRate {
	return d.cam.GetSupportedFramerates(f, uint32(width), uint32(height))
}

func (d *v4l2Device) SetFormat(f webcam.PixelFormat, width, height int) (webcam.PixelFormat, int, int, error) {
	got, w, h, err := d.cam.SetImageFormat(f, uint32(width), uint32(height))
	return got, int(w), int(h), err
}

func (d *v4l2Device) SetFPS(fps int) error { return d.cam.SetFramerate(float32(fps)) }

func (d *v4l2Device) Start(buffers int) error {
	// webcam.Open asks for 256 buffers by default; the driver would map
	// as many as it allows (tens of megabytes at 720p).
	if err := d.cam.SetBufferCount(uint32(buffers)); err != nil {
		return err
	}
	return d.cam.StartStreaming()
}

func (d *v4l2Device) Wait(timeout time.Duration) error {
	secs := uint32((timeout + time.Second - 1) / time.Second)
	err := d.cam.WaitForFrame(secs)
	var to *webcam.Timeout
	if errors.As(err, &to) {
		return errWaitTimeout
	}
	return err
}

func (d *v4l2Device) Dequeue() ([]byte, uint32, error) { return d.cam.GetFrame() }

func (d *v4l2Device) Release(index uint32) error { return d.cam.ReleaseFrame(index) }

func (d *v4l2Device) Close() error { return d.cam.Close() }
