//go:build linux

package camera

import (
	"bytes"
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
)

// streaming opens a fake YUYV camera at 320x240 and returns it with its
// fake device. Waits are sliced at 10 ms and a stall is 200 ms, so tests of
// timeouts stay short.
func streaming(t *testing.T) (*capture, *fakeDev) {
	t.Helper()
	root := fakeTree(t, []string{"video0"}, nil, nil)
	k := &fakeKernel{nodes: map[string]*fakeNode{filepath.Join(root, "video0"): uvcNode("cam")}}
	s := newSystem(nil, root, k.open)
	s.waitSlice, s.stall = 10*time.Millisecond, 200*time.Millisecond
	c, err := s.OpenCamera("video0", hw.CameraRequest{Width: 320, Height: 240, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*capture), k.last()
}

const yuyvSize = 320 * 240 * 2

func TestReadFrameCopiesAndRequeues(t *testing.T) {
	c, d := streaming(t)
	for i := range 6 { // more frames than buffers: each must be requeued
		if !d.push(byte(i+1), yuyvSize) {
			t.Fatalf("frame %d: no free buffer, the camera kept one", i)
		}
		before := time.Now()
		f, err := c.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if f.Format != hw.FormatYUYV || f.Width != 320 || f.Height != 240 || len(f.Data) != yuyvSize {
			t.Fatalf("frame %d: %s %dx%d, %d bytes", i, f.Format, f.Width, f.Height, len(f.Data))
		}
		if f.Seq != uint64(i) || f.Data[0] != byte(i+1) || f.Data[yuyvSize-1] != byte(i+1) || f.Captured.Before(before) {
			t.Fatalf("frame %d: Seq %d, data %d..%d, captured %v (read at %v)", i, f.Seq, f.Data[0], f.Data[yuyvSize-1], f.Captured, before)
		}
		if n := d.outstanding(); n != 0 {
			t.Fatalf("frame %d: %d driver buffers not requeued", i, n)
		}
		// The driver refilling its buffer must not change the copy.
		d.mu.Lock()
		for _, b := range d.bufs {
			b[0] = 0xEE
		}
		d.mu.Unlock()
		if f.Data[0] != byte(i+1) {
			t.Fatal("frame data aliases the driver's buffer")
		}
	}
	if c.Dropped() != 0 {
		t.Fatalf("dropped %d with a prompt reader", c.Dropped())
	}
}

// TestReadFrameNewest: a late reader gets the newest of the waiting frames;
// the older ones are requeued and counted, and Seq jumps past them.
func TestReadFrameNewest(t *testing.T) {
	c, d := streaming(t)
	for i := range 3 {
		d.push(byte(10+i), yuyvSize)
	}
	f, err := c.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if f.Data[0] != 12 || f.Seq != 2 || c.Dropped() != 2 || d.outstanding() != 0 {
		t.Fatalf("got frame %d Seq %d, dropped %d, %d buffers held; want the newest (12), Seq 2, 2 dropped, none held",
			f.Data[0], f.Seq, c.Dropped(), d.outstanding())
	}
	d.push(13, yuyvSize)
	if f, err = c.ReadFrame(); err != nil || f.Seq != 3 || f.Data[0] != 13 {
		t.Fatalf("next frame: Seq %d data %d, %v", f.Seq, f.Data[0], err)
	}
}

// TestReadFrameSkipsShort: a frame shorter than the mode (a driver's
// corrupt frame) is never handed out; it is counted and the next one read.
func TestReadFrameSkipsShort(t *testing.T) {
	c, d := streaming(t)
	d.push(1, 100)
	go func() {
		time.Sleep(20 * time.Millisecond)
		d.push(2, yuyvSize)
	}()
	f, err := c.ReadFrame()
	if err != nil || f.Data[0] != 2 || f.Seq != 1 || c.Dropped() != 1 {
		t.Fatalf("after a short frame: data %d Seq %d dropped %d, %v", f.Data[0], f.Seq, c.Dropped(), err)
	}
}

// TestReadFrameUnplugged: the kernel answers ENODEV once the camera is
// gone, from the dequeue as from the poll; both are ErrAbsent.
func TestReadFrameUnplugged(t *testing.T) {
	c, d := streaming(t)
	d.push(1, yuyvSize)
	if _, err := c.ReadFrame(); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.failWith = syscall.ENODEV
	d.mu.Unlock()
	_, err := c.ReadFrame()
	var de *hw.DeviceError
	if !errors.Is(err, hw.ErrAbsent) || !errors.As(err, &de) || de.Op != "read frame" || !errors.Is(err, syscall.ENODEV) {
		t.Fatalf("after unplug: %v, want a read-frame DeviceError of kind absent wrapping ENODEV", err)
	}
}

func TestReadFrameStall(t *testing.T) {
	c, _ := streaming(t)
	start := time.Now()
	_, err := c.ReadFrame()
	if !errors.Is(err, hw.ErrUnavailable) || !errors.Is(err, errWaitTimeout) {
		t.Fatalf("no frames: %v, want ErrUnavailable wrapping the wait timeout", err)
	}
	if waited := time.Since(start); waited < c.stall {
		t.Fatalf("gave up after %v, before the stall timeout %v", waited, c.stall)
	}
}

func TestCloseUnblocksReadFrame(t *testing.T) {
	c, d := streaming(t)
	c.stall = time.Hour // only Close may end this ReadFrame
	errc := make(chan error, 1)
	go func() {
		_, err := c.ReadFrame()
		errc <- err
	}()
	time.Sleep(30 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, hw.ErrClosed) {
			t.Fatalf("pending ReadFrame after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the pending ReadFrame")
	}
	if !d.closed {
		t.Fatal("device not closed")
	}
	if _, err := c.ReadFrame(); !errors.Is(err, hw.ErrClosed) {
		t.Fatalf("ReadFrame after Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestReadFrameZeroAllocs(t *testing.T) {
	c, d := streaming(t)
	d.mu.Lock()
	d.auto = true
	d.mu.Unlock()
	if _, err := c.ReadFrame(); err != nil { // the first frame sizes the buffer
		t.Fatal(err)
	}
	var err error
	if a := testing.AllocsPerRun(50, func() { _, err = c.ReadFrame() }); a != 0 || err != nil {
		t.Fatalf("%v allocs per ReadFrame (err %v)", a, err)
	}
	if c.Dropped() != 0 || d.outstanding() != 0 {
		t.Fatalf("steady state: dropped %d, %d buffers held", c.Dropped(), d.outstanding())
	}
}

func TestRawFrameSize(t *testing.T) {
	for _, tc := range []struct {
		f    hw.PixelFormat
		w, h int
		want int
	}{
		{hw.FormatYUYV, 640, 480, 614400},
		{hw.FormatNV12, 640, 480, 460800},
		{hw.FormatI420, 641, 481, 641*481 + 2*321*241},
		{hw.FormatMJPEG, 640, 480, 0},
	} {
		if got := rawFrameSize(tc.f, tc.w, tc.h); got != tc.want {
			t.Errorf("rawFrameSize(%s, %d, %d) = %d, want %d", tc.f, tc.w, tc.h, got, tc.want)
		}
	}
}

// TestReadFramePatternThrough: a YUYV pattern frame captured through the
// fake driver comes out byte for byte, with its frame number readable.
func TestReadFramePatternThrough(t *testing.T) {
	c, d := streaming(t)
	pat := synth.NewPatternCameraFormat("back", hw.CameraRequest{Width: 320, Height: 240, FPS: 60}, hw.FormatYUYV)
	defer pat.Close()
	src, err := pat.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	d.pushFunc(len(src.Data), func(b []byte) { copy(b, src.Data) })
	f, err := c.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.Data, src.Data) {
		t.Fatal("captured frame differs from the driver's")
	}
	luma := make([]byte, 320*240)
	for i := range luma {
		luma[i] = f.Data[2*i]
	}
	if n, ok := synth.ReadFrameNumber(luma, 320, 320, 240); !ok || uint64(n) != src.Seq {
		t.Fatalf("frame number %d, %v; want %d", n, ok, src.Seq)
	}
}
