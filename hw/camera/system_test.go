//go:build linux

package camera

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/blackjack/webcam"
	"github.com/voipd/voipd/hw"
)

// discrete is a driver's discrete size list entry.
func discrete(w, h uint32) webcam.FrameSize {
	return webcam.FrameSize{MinWidth: w, MaxWidth: w, MinHeight: h, MaxHeight: h}
}

// interval is a discrete frame interval of 1/fps.
func interval(fps uint32) webcam.FrameRate {
	return webcam.FrameRate{MinNumerator: 1, MaxNumerator: 1, MinDenominator: fps, MaxDenominator: fps}
}

const fourccH264 webcam.PixelFormat = 'H' | '2'<<8 | '6'<<16 | '4'<<24

// uvcNode is a typical USB webcam: YUYV at small sizes, MJPEG up to 720p,
// and H264, which voipd does not take.
func uvcNode(name string) *fakeNode {
	return &fakeNode{
		name:    name,
		formats: []webcam.PixelFormat{fourccMJPEG, fourccH264, fourccYUYV},
		sizes: map[webcam.PixelFormat][]webcam.FrameSize{
			fourccYUYV:  {discrete(640, 480), discrete(320, 240)},
			fourccMJPEG: {discrete(640, 480), discrete(1280, 720)},
			fourccH264:  {discrete(1920, 1080)},
		},
		rates: []webcam.FrameRate{interval(30), interval(15)},
	}
}

// world is a fake /dev with a UVC camera (video0, its metadata node video1),
// a second camera known only by path (video2), a node that is not a capture
// device (video3) and one known by node name only (video10).
func world(t *testing.T) (*System, *fakeKernel, string) {
	t.Helper()
	root := fakeTree(t,
		[]string{"video0", "video1", "video2", "video3", "video10", "media0"},
		map[string]string{
			"usb-Cam_A_123-video-index0": "video0",
			"usb-Cam_A_123-video-index1": "video1",
			"usb-Gone_999-video-index0":  "video7", // dangling: unplugged
		},
		map[string]string{
			"pci-0000:00:14.0-usb-0:1:1.0-video-index0": "video0",
			"pci-0000:00:14.0-usb-0:2:1.0-video-index0": "video2",
		})
	k := &fakeKernel{nodes: map[string]*fakeNode{
		filepath.Join(root, "video0"):  uvcNode("Cam A"),
		filepath.Join(root, "video1"):  {name: "Cam A"}, // metadata: no capture formats
		filepath.Join(root, "video2"):  uvcNode("Cam B"),
		filepath.Join(root, "video3"):  {openErr: errNotCapture},
		filepath.Join(root, "video10"): uvcNode("Cam C"),
	}}
	s := newSystem(nil, root, k.open)
	return s, k, root
}

func TestCameras(t *testing.T) {
	s, _, root := world(t)
	cams, err := s.Cameras()
	if err != nil {
		t.Fatal(err)
	}
	var got [][3]string
	for _, c := range cams {
		got = append(got, [3]string{c.ID, c.Name, c.Path})
	}
	want := [][3]string{
		{"usb-Cam_A_123-video-index0", "Cam A", filepath.Join(root, "video0")},
		{"pci-0000:00:14.0-usb-0:2:1.0-video-index0", "Cam B", filepath.Join(root, "video2")},
		{filepath.Join(root, "video10"), "Cam C", filepath.Join(root, "video10")},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("cameras\n got %q\nwant %q", got, want)
	}
	var modes []string
	for _, f := range cams[0].Formats {
		modes = append(modes, fmt.Sprintf("%s %dx%d %v", f.Format, f.Width, f.Height, f.FPS))
	}
	wantModes := []string{"YUYV 320x240 [15 30]", "YUYV 640x480 [15 30]", "MJPEG 640x480 [15 30]", "MJPEG 1280x720 [15 30]"}
	if !slices.Equal(modes, wantModes) {
		t.Fatalf("modes\n got %q\nwant %q (H264 skipped, preferred format first)", modes, wantModes)
	}
}

func TestCamerasReportsWhyNoneListed(t *testing.T) {
	root := fakeTree(t, []string{"video0", "video1"}, nil, nil)
	k := &fakeKernel{nodes: map[string]*fakeNode{
		filepath.Join(root, "video0"): {openErr: syscall.EACCES},
		filepath.Join(root, "video1"): {openErr: syscall.EACCES},
	}}
	_, err := newSystem(nil, root, k.open).Cameras()
	if !errors.Is(err, hw.ErrPermission) {
		t.Fatalf("every node EACCES: %v, want ErrPermission", err)
	}
	// One good camera beside a forbidden one: the list, without error.
	k.nodes[filepath.Join(root, "video1")] = uvcNode("ok")
	cams, err := newSystem(nil, root, k.open).Cameras()
	if err != nil || len(cams) != 1 || cams[0].Name != "ok" {
		t.Fatalf("one good node: %+v, %v", cams, err)
	}
}

func TestCamerasNoDevRoot(t *testing.T) {
	_, err := newSystem(nil, filepath.Join(t.TempDir(), "nope"), (&fakeKernel{}).open).Cameras()
	if !errors.Is(err, hw.ErrAbsent) {
		t.Fatalf("missing root: %v, want ErrAbsent", err)
	}
}

// TestRealDev runs the real enumeration over this machine's /dev, which has
// no V4L2 driver: an empty list, not an error.
func TestRealDev(t *testing.T) {
	cams, err := New(nil).Cameras()
	if err != nil {
		t.Fatal(err)
	}
	if cams == nil || len(cams) != 0 {
		t.Fatalf("cameras on a machine without V4L2: %+v", cams)
	}
	if _, err := New(nil).OpenCamera("default", hw.CameraRequest{}); !errors.Is(err, hw.ErrAbsent) {
		t.Fatalf("default camera on a machine without V4L2: %v, want ErrAbsent", err)
	}
}

func TestOpenCameraResolves(t *testing.T) {
	s, k, root := world(t)
	for _, tc := range []struct {
		id, wantPath string
	}{
		{"usb-Cam_A_123-video-index0", "video0"},
		{filepath.Join(root, "v4l/by-id/usb-Cam_A_123-video-index0"), "video0"},
		{"pci-0000:00:14.0-usb-0:1:1.0-video-index0", "video0"},
		{"pci-0000:00:14.0-usb-0:2:1.0-video-index0", "video2"},
		{filepath.Join(root, "video2"), "video2"},
		{"video10", "video10"},
		{"Cam C", "video10"},
		{"default", "video0"},
	} {
		c, err := s.OpenCamera(tc.id, hw.CameraRequest{Width: 640, Height: 480, FPS: 30})
		if err != nil {
			t.Errorf("OpenCamera(%q): %v", tc.id, err)
			continue
		}
		if got := c.Info().Path; got != filepath.Join(root, tc.wantPath) {
			t.Errorf("OpenCamera(%q) opened %s, want %s", tc.id, got, tc.wantPath)
		}
		c.Close()
		if d := k.last(); !d.closed {
			t.Errorf("OpenCamera(%q): Close left the device open", tc.id)
		}
	}
	for _, id := range []string{"usb-Gone_999-video-index0", "video7", "Nobody's camera", filepath.Join(root, "video9")} {
		if _, err := s.OpenCamera(id, hw.CameraRequest{}); !errors.Is(err, hw.ErrAbsent) {
			t.Errorf("OpenCamera(%q): %v, want ErrAbsent", id, err)
		}
	}
}

func TestOpenCameraPattern(t *testing.T) {
	s, _, _ := world(t)
	for _, id := range []string{"pattern", "pattern:front"} {
		c, err := s.OpenCamera(id, hw.CameraRequest{Width: 320, Height: 240, FPS: 30})
		if err != nil {
			t.Fatal(err)
		}
		info := c.Info()
		if info.ID != id || !info.Synthetic {
			t.Errorf("OpenCamera(%q).Info() = %+v", id, info)
		}
		f, err := c.ReadFrame()
		if err != nil || f.Format != hw.FormatI420 || f.Width != 320 {
			t.Errorf("pattern frame %v %dx%d: %v", f.Format, f.Width, f.Height, err)
		}
		c.Close()
	}
}

// TestOpenCameraErrors: each kernel errno at each step becomes its hw
// kind, and a failed open leaves no device open.
func TestOpenCameraErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		node fakeNode
		want error
	}{
		{"open EBUSY", fakeNode{openErr: syscall.EBUSY}, hw.ErrBusy},
		{"open EACCES", fakeNode{openErr: syscall.EACCES}, hw.ErrPermission},
		{"open ENODEV", fakeNode{openErr: syscall.ENODEV}, hw.ErrAbsent},
		{"not capture", fakeNode{openErr: errNotCapture}, hw.ErrInvalid},
		{"S_FMT EBUSY", fakeNode{setFmt: syscall.EBUSY}, hw.ErrBusy},
		{"S_FMT EINVAL", fakeNode{setFmt: syscall.EINVAL}, hw.ErrInvalid},
		{"REQBUFS EBUSY, as webcam words it", fakeNode{startErr: errors.New("Failed to map request buffers: device or resource busy")}, hw.ErrBusy},
		{"STREAMON ENOSPC", fakeNode{startErr: errors.New("Failed to start streaming: no space left on device")}, hw.ErrUnavailable},
		{"no usable format", fakeNode{formats: []webcam.PixelFormat{fourccH264}}, hw.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeTree(t, []string{"video0"}, nil, nil)
			n := uvcNode("cam")
			n.openErr, n.setFmt, n.startErr = tc.node.openErr, tc.node.setFmt, tc.node.startErr
			if tc.node.formats != nil {
				n.formats = tc.node.formats
			}
			k := &fakeKernel{nodes: map[string]*fakeNode{filepath.Join(root, "video0"): n}}
			_, err := newSystem(nil, root, k.open).OpenCamera("video0", hw.CameraRequest{})
			var de *hw.DeviceError
			if !errors.As(err, &de) || !errors.Is(err, tc.want) || de.Device != "video0" {
				t.Fatalf("err = %v, want a DeviceError of kind %v for video0", err, tc.want)
			}
			for _, d := range k.opened {
				if !d.closed {
					t.Fatal("a failed open left the device open")
				}
			}
		})
	}
}

// TestOpenCameraSetsMode: the chosen mode reaches the driver, and a driver
// without VIDIOC_S_PARM still streams.
func TestOpenCameraSetsMode(t *testing.T) {
	root := fakeTree(t, []string{"video0"}, nil, nil)
	n := uvcNode("cam")
	n.setFPS = syscall.ENOTTY
	k := &fakeKernel{nodes: map[string]*fakeNode{filepath.Join(root, "video0"): n}}
	c, err := newSystem(nil, root, k.open).OpenCamera("video0", hw.CameraRequest{Width: 1280, Height: 720, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := k.last()
	if d.format != fourccMJPEG || d.w != 1280 || d.h != 720 || !d.streamOn || len(d.bufs) != buffers {
		t.Fatalf("driver set to %#x %dx%d streaming=%v with %d buffers", uint32(d.format), d.w, d.h, d.streamOn, len(d.bufs))
	}
}
