package pipeline

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voipd/voipd/codec/codectest"
	"github.com/voipd/voipd/codec/mjpeg"
	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/hw"
)

// fakeCamera delivers the codectest pattern in a camera's pixel format.
// Frame n's capture time is n/30 s after a fixed epoch, whatever the wall
// clock says, so RTP timestamps are exact; a ticker (when paced) stands in
// for the device clock. still keeps the pattern at frame 0.
type fakeCamera struct {
	format hw.PixelFormat
	w, h   int
	still  bool
	tick   *time.Ticker

	img   yuv.I420
	data  []byte
	mj    *mjpeg.Encoder
	epoch time.Time
	seq   uint64

	fail   atomic.Pointer[error]
	reads  atomic.Uint64
	closed chan struct{}
	once   sync.Once
}

func newFakeCamera(tb testing.TB, format hw.PixelFormat, w, h int, paced bool) *fakeCamera {
	c := &fakeCamera{format: format, w: w, h: h, img: yuv.NewI420(w, h),
		epoch: time.Unix(1700000000, 0), closed: make(chan struct{})}
	cw, ch := yuv.ChromaSize(w, h)
	switch format {
	case hw.FormatYUYV:
		c.data = make([]byte, 2*w*h)
	case hw.FormatNV12:
		c.data = make([]byte, w*h+2*cw*ch)
	case hw.FormatMJPEG:
		c.data = make([]byte, mjpeg.BufSize(w, h, mjpeg.Sub422))
		enc, err := mjpeg.NewEncoder()
		if err != nil {
			tb.Fatal(err)
		}
		c.mj = enc
	case hw.FormatI420:
		c.data = make([]byte, w*h+2*cw*ch)
	}
	if paced {
		c.tick = time.NewTicker(5 * time.Millisecond)
	}
	return c
}

func (c *fakeCamera) failWith(err error) { c.fail.Store(&err) }

// frame draws pattern frame n into c.img and returns it in c's format.
func (c *fakeCamera) frame(n int) (hw.VideoFrame, error) {
	if c.still {
		n = 0
	}
	codectest.Pattern(c.img, n)
	data := c.data
	cw, ch := yuv.ChromaSize(c.w, c.h)
	var err error
	switch c.format {
	case hw.FormatYUYV:
		err = yuv.I420ToYUY2(c.data, 2*c.w, c.img)
	case hw.FormatNV12:
		err = yuv.I420ToNV12(c.data, c.w, c.img)
	case hw.FormatMJPEG:
		var m int
		m, err = c.mj.Encode(c.data, c.img, mjpeg.Sub422, 90)
		data = c.data[:m]
	case hw.FormatI420:
		copy(c.data, c.img.Y)
		copy(c.data[c.w*c.h:], c.img.U)
		copy(c.data[c.w*c.h+cw*ch:], c.img.V)
	}
	return hw.VideoFrame{Format: c.format, Width: c.w, Height: c.h, Data: data,
		Captured: c.epoch.Add(time.Duration(n) * time.Second / 30), Seq: uint64(n)}, err
}

func (c *fakeCamera) ReadFrame() (hw.VideoFrame, error) {
	if c.tick != nil {
		select {
		case <-c.tick.C:
		case <-c.closed:
		}
	}
	if err := c.fail.Load(); err != nil {
		return hw.VideoFrame{}, *err
	}
	select {
	case <-c.closed:
		return hw.VideoFrame{}, &hw.DeviceError{Op: "read", Device: "fake", Kind: hw.ErrClosed}
	default:
	}
	c.seq++
	c.reads.Add(1)
	return c.frame(int(c.seq))
}

func (c *fakeCamera) Info() hw.CameraInfo {
	return hw.CameraInfo{ID: "fake:" + string(c.format), Name: "fake", Synthetic: true}
}

func (c *fakeCamera) Close() error {
	c.once.Do(func() {
		close(c.closed)
		if c.tick != nil {
			c.tick.Stop()
		}
	})
	return nil
}

// expected returns pattern frame n at w×h, scaled like the sender scales
// when the camera's size differs.
func expectedFrame(tb testing.TB, n, camW, camH, w, h int) yuv.I420 {
	src := yuv.NewI420(camW, camH)
	codectest.Pattern(src, n)
	if camW == w && camH == h {
		return src
	}
	dst := yuv.NewI420(w, h)
	if err := yuv.Scale(dst, src); err != nil {
		tb.Fatal(err)
	}
	return dst
}
