//go:build linux

package camera

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
)

// Defaults of the streaming set-up.
const (
	// buffers is how many mmap buffers the driver fills in turn: one being
	// copied, one being filled, and two to ride out a reader's hiccup. More
	// only adds memory; ReadFrame always takes the newest anyway.
	buffers = 4
	// waitSlice is how long one poll may block; it bounds how long Close
	// waits for a pending ReadFrame. blackjack/webcam polls in whole seconds.
	waitSlice = time.Second
	// stallTimeout is how long ReadFrame waits for a frame before reporting
	// the camera unavailable; a UVC camera's first frame after STREAMON can
	// take a second or two (exposure settling).
	stallTimeout = 5 * time.Second
)

// System lists and opens the V4L2 cameras under one device root. It
// implements hw.CameraSystem.
type System struct {
	log       *slog.Logger
	root      string
	open      opener
	buffers   int
	waitSlice time.Duration
	stall     time.Duration
}

// New returns the camera system over the machine's /dev.
func New(log *slog.Logger) *System { return NewAt(log, "/dev") }

// NewAt returns the camera system over another device root (a container's
// /dev, or a test's fake tree): videoN nodes directly under root, udev's
// links under root/v4l/by-id and root/v4l/by-path.
func NewAt(log *slog.Logger, root string) *System {
	return newSystem(log, root, openV4L2)
}

func newSystem(log *slog.Logger, root string, open opener) *System {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &System{log: log, root: root, open: open, buffers: buffers, waitSlice: waitSlice, stall: stallTimeout}
}

// Cameras lists the capture cameras, in node order. Nodes that are not
// video capture devices are left out, and so are nodes listing none of the
// formats voipd takes (a UVC camera's second node carries metadata; it
// passes blackjack/webcam's capability check, which reads the device-wide
// capabilities, but lists no capture format). A node that cannot be opened
// is logged and left out; when that leaves no camera at all, the first such
// failure is returned, so a permission problem is reported, not hidden as
// an empty list.
func (s *System) Cameras() ([]hw.CameraInfo, error) {
	ns, err := nodes(s.root)
	if err != nil {
		return nil, deviceError("list cameras", s.root, err)
	}
	out := []hw.CameraInfo{}
	var firstErr error
	for _, n := range ns {
		info, err := s.describe(n)
		if err != nil {
			if !errors.Is(err, errNotCapture) && firstErr == nil {
				firstErr = deviceError("list cameras", n.id, err)
			}
			s.log.Debug("camera node skipped", "path", n.path, "err", err)
			continue
		}
		if len(info.Formats) > 0 {
			out = append(out, info)
		}
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// describe opens a node long enough to read its name and modes.
func (s *System) describe(n node) (hw.CameraInfo, error) {
	d, err := s.open(n.path)
	if err != nil {
		return hw.CameraInfo{}, err
	}
	defer d.Close()
	return infoOf(n, d), nil
}

func infoOf(n node, d device) hw.CameraInfo {
	name, _ := d.Name() // a name is nice to have; the id identifies
	return hw.CameraInfo{ID: n.id, Name: name, Path: n.path, Formats: modesOf(d)}
}

// OpenCamera opens a camera by stable id, path, node name ("video0"), card
// name or "default" (the first camera Cameras lists), or a synthetic
// pattern ("pattern", "pattern:NAME"), at the mode closest to req (zero
// fields: 640x480 at 30 fps).
func (s *System) OpenCamera(id string, req hw.CameraRequest) (hw.Camera, error) {
	if name, ok := hw.ParsePattern(id); ok {
		return synth.NewPatternCamera(name, req), nil
	}
	if req.Width <= 0 || req.Height <= 0 {
		req.Width, req.Height = 640, 480
	}
	if req.FPS <= 0 {
		req.FPS = 30
	}
	n, err := s.resolve(id)
	if err != nil {
		return nil, err
	}
	d, err := s.open(n.path)
	if err != nil {
		return nil, deviceError("open camera", id, err)
	}
	c, err := s.start(id, n, d, req)
	if err != nil {
		d.Close()
		return nil, err
	}
	return c, nil
}

// start sets the chosen mode on an open device and starts streaming.
func (s *System) start(id string, n node, d device, req hw.CameraRequest) (*capture, error) {
	info := infoOf(n, d)
	m, ok := chooseMode(info.Formats, req)
	if !ok {
		return nil, deviceError("open camera", id,
			fmt.Errorf("%s offers none of the formats I420, NV12, YUYV, MJPEG: %w", n.path, errNotCapture))
	}
	code, w, h, err := d.SetFormat(codeOf(m.format), m.width, m.height)
	if err != nil {
		return nil, deviceError("set format", id, err)
	}
	format, ok := formatOf(code)
	if !ok || w <= 0 || h <= 0 {
		return nil, &hw.DeviceError{Op: "set format", Device: id, Kind: hw.ErrInvalid,
			Err: fmt.Errorf("driver set format %#x at %dx%d", uint32(code), w, h)}
	}
	if m.fps > 0 {
		if err := d.SetFPS(m.fps); err != nil {
			// Many drivers lack VIDIOC_S_PARM and run at their own rate;
			// the capture times still pace the encoder correctly.
			s.log.Warn("camera frame rate not set", "id", id, "fps", m.fps, "err", err)
		}
	}
	if err := d.Start(s.buffers); err != nil {
		return nil, deviceError("start", id, err)
	}
	size := rawFrameSize(format, w, h)
	c := &capture{
		dev: d, info: info, format: format, width: w, height: h, frameSize: size,
		waitSlice: s.waitSlice, stall: s.stall,
		buf: make([]byte, 0, max(size, w*h)), // MJPEG frames are rarely over a byte a pixel
	}
	s.log.Info("camera opened", "id", info.ID, "path", n.path, "name", info.Name,
		"format", format, "width", w, "height", h, "fps", m.fps)
	return c, nil
}

// resolve finds the node an id names.
func (s *System) resolve(id string) (node, error) {
	ns, err := nodes(s.root)
	if err != nil {
		return node{}, deviceError("open camera", id, err)
	}
	if id == "" || id == "default" {
		var firstErr error
		for _, n := range ns {
			info, err := s.describe(n)
			if err == nil && len(info.Formats) > 0 {
				return n, nil
			}
			if err != nil && !errors.Is(err, errNotCapture) && firstErr == nil {
				firstErr = err
			}
		}
		if firstErr != nil {
			return node{}, deviceError("open camera", id, firstErr)
		}
		return node{}, &hw.DeviceError{Op: "open camera", Device: id, Kind: hw.ErrAbsent,
			Err: fmt.Errorf("no capture camera under %s", s.root)}
	}
	for _, n := range ns {
		if n.matches(id) {
			return n, nil
		}
	}
	// Last, a card name ("HD Pro Webcam C920"): only an open node tells it.
	for _, n := range ns {
		if d, err := s.open(n.path); err == nil {
			name, _ := d.Name()
			d.Close()
			if name == id {
				return n, nil
			}
		}
	}
	return node{}, &hw.DeviceError{Op: "open camera", Device: id, Kind: hw.ErrAbsent,
		Err: fmt.Errorf("no camera %q under %s", id, s.root)}
}
