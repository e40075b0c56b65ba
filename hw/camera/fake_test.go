//go:build linux

package camera

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/blackjack/webcam"
)

// fakeNode is what the fake kernel knows about one /dev/videoN.
type fakeNode struct {
	name     string
	formats  []webcam.PixelFormat
	sizes    map[webcam.PixelFormat][]webcam.FrameSize
	rates    []webcam.FrameRate // the same at every size
	openErr  error              // returned by open, e.g. syscall.EBUSY
	setFmt   error              // returned by SetFormat
	setFPS   error              // returned by SetFPS
	startErr error              // returned by Start
}

// fakeKernel opens fakeNodes by path and remembers the devices it opened.
type fakeKernel struct {
	mu     sync.Mutex
	nodes  map[string]*fakeNode
	opened []*fakeDev
}

func (k *fakeKernel) open(path string) (device, error) {
	n, ok := k.nodes[path]
	if !ok {
		return nil, syscall.ENOENT
	}
	if n.openErr != nil {
		return nil, n.openErr
	}
	d := &fakeDev{node: n, notify: make(chan struct{}, 1)}
	k.mu.Lock()
	k.opened = append(k.opened, d)
	k.mu.Unlock()
	return d, nil
}

// last is the device opened most recently.
func (k *fakeKernel) last() *fakeDev {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.opened[len(k.opened)-1]
}

// fakeDev is an open fake node streaming through a fixed set of buffers,
// filled by the test with push (or endlessly in auto mode).
type fakeDev struct {
	node   *fakeNode
	notify chan struct{}

	mu       sync.Mutex
	format   webcam.PixelFormat
	w, h     int
	fps      int
	bufs     [][]byte
	lens     []int
	queued   []uint32 // filled, in order
	out      []bool   // dequeued by the reader, not yet released
	streamOn bool
	closed   bool
	auto     bool  // Wait always finds a frame, Dequeue fills one
	failWith error // every later Wait/Dequeue returns it (ENODEV: unplugged)
	waits    int
}

func (d *fakeDev) Name() (string, error)         { return d.node.name, nil }
func (d *fakeDev) Formats() []webcam.PixelFormat { return d.node.formats }
func (d *fakeDev) Sizes(f webcam.PixelFormat) []webcam.FrameSize {
	return d.node.sizes[f]
}
func (d *fakeDev) Rates(webcam.PixelFormat, int, int) []webcam.FrameRate { return d.node.rates }

func (d *fakeDev) SetFormat(f webcam.PixelFormat, w, h int) (webcam.PixelFormat, int, int, error) {
	if d.node.setFmt != nil {
		return 0, 0, 0, d.node.setFmt
	}
	d.format, d.w, d.h = f, w, h
	return f, w, h, nil
}

func (d *fakeDev) SetFPS(fps int) error {
	if d.node.setFPS != nil {
		return d.node.setFPS
	}
	d.fps = fps
	return nil
}

func (d *fakeDev) Start(n int) error {
	if d.node.startErr != nil {
		return d.node.startErr
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	size := d.w * d.h * 2
	for range n {
		d.bufs = append(d.bufs, make([]byte, size))
		d.lens = append(d.lens, size)
		d.out = append(d.out, false)
	}
	d.queued = make([]uint32, 0, n)
	d.streamOn = true
	return nil
}

// push fills the next free buffer with n bytes of b (a driver's capture)
// and wakes a Wait. It reports false when every buffer is busy.
func (d *fakeDev) push(b byte, n int) bool {
	return d.pushFunc(n, func(buf []byte) {
		for j := range buf {
			buf[j] = b
		}
	})
}

// pushFunc is push with the buffer's content written by fill.
func (d *fakeDev) pushFunc(n int, fill func([]byte)) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.bufs {
		if d.out[i] || contains(d.queued, uint32(i)) {
			continue
		}
		fill(d.bufs[i])
		d.lens[i] = n
		d.queued = append(d.queued, uint32(i))
		select {
		case d.notify <- struct{}{}:
		default:
		}
		return true
	}
	return false
}

func contains(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (d *fakeDev) Wait(timeout time.Duration) error {
	d.mu.Lock()
	d.waits++
	ready := len(d.queued) > 0 || d.auto
	fail := d.failWith
	d.mu.Unlock()
	if fail != nil || ready {
		return nil // poll reports POLLERR on an unplugged node: the dequeue fails
	}
	select {
	case <-d.notify:
		return nil
	case <-time.After(timeout):
		return errWaitTimeout
	}
}

func (d *fakeDev) Dequeue() ([]byte, uint32, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failWith != nil {
		return nil, 0, d.failWith
	}
	if d.auto && len(d.queued) == 0 && d.waits > 0 {
		d.waits = 0 // one frame per Wait, then EAGAIN for the drain
		for i := range d.bufs {
			if !d.out[i] {
				d.queued = append(d.queued, uint32(i))
				break
			}
		}
	}
	if len(d.queued) == 0 {
		return nil, 0, syscall.EAGAIN
	}
	i := d.queued[0]
	// Shift in place: the slice keeps its capacity, so the fake allocates
	// nothing in steady state and AllocsPerRun measures the camera alone.
	d.queued = d.queued[:copy(d.queued, d.queued[1:])]
	d.out[i] = true
	return d.bufs[i][:d.lens[i]], i, nil
}

func (d *fakeDev) Release(i uint32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if int(i) >= len(d.out) || !d.out[i] {
		return syscall.EINVAL // the kernel's answer to a bad VIDIOC_QBUF
	}
	d.out[i] = false
	return nil
}

func (d *fakeDev) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed, d.streamOn = true, false
	return nil
}

// outstanding counts buffers the reader holds (should be 0 between reads).
func (d *fakeDev) outstanding() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, o := range d.out {
		if o {
			n++
		}
	}
	return n
}

// fakeTree makes a device root with the given videoN files and by-id and
// by-path links (name → target node, relative as udev makes them).
func fakeTree(t *testing.T, videos []string, byID, byPath map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for _, v := range videos {
		if err := os.WriteFile(filepath.Join(root, v), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for dir, links := range map[string]map[string]string{"v4l/by-id": byID, "v4l/by-path": byPath} {
		if len(links) == 0 {
			continue
		}
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, target := range links {
			if err := os.Symlink(filepath.Join("../..", target), filepath.Join(root, dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}
