package hw

import "time"

// PixelFormat is how a camera frame's bytes are laid out.
type PixelFormat string

// The formats voipd takes from cameras (V4L2's YUYV, NV12 and MJPEG) and the
// one its encoder eats (I420, planar 4:2:0).
const (
	FormatYUYV  PixelFormat = "YUYV"
	FormatNV12  PixelFormat = "NV12"
	FormatMJPEG PixelFormat = "MJPEG"
	FormatI420  PixelFormat = "I420"
)

// VideoFormat is one mode a camera offers: a pixel format at a size, with
// the frame rates it supports there.
type VideoFormat struct {
	Format PixelFormat `json:"format"`
	Width  int         `json:"width"`
	Height int         `json:"height"`
	FPS    []int       `json:"fps"`
}

// CameraInfo describes a camera, as listDevices and status report it.
type CameraInfo struct {
	ID        string        `json:"id"`   // stable: a /dev/v4l/by-id or by-path name, or "pattern:..."
	Name      string        `json:"name"` // the driver's card name
	Path      string        `json:"path"` // the /dev/videoN node it resolves to now
	Formats   []VideoFormat `json:"formats"`
	Synthetic bool          `json:"synthetic"`
}

// VideoFrame is one captured frame. Data belongs to the camera and is valid
// until the next ReadFrame: the capture path converts it to I420 once, into
// a buffer of its own, and never keeps it.
type VideoFrame struct {
	Format        PixelFormat
	Width, Height int
	Data          []byte
	Captured      time.Time // when the camera delivered it (the capture clock for RTP timestamps)
	Seq           uint64    // the camera's frame counter; a gap means frames were dropped
}

// Camera is an open camera.
type Camera interface {
	// ReadFrame blocks until the next frame. After Close it returns an
	// error wrapping ErrClosed; when the device vanishes, one wrapping
	// ErrAbsent.
	ReadFrame() (VideoFrame, error)
	Info() CameraInfo
	Close() error
}

// CameraRequest is what the config asks of a camera; the camera picks the
// closest mode it has, preferring one that needs no conversion.
type CameraRequest struct {
	Width, Height, FPS int
}

// CameraSystem lists and opens cameras.
type CameraSystem interface {
	Cameras() ([]CameraInfo, error)
	// OpenCamera opens a camera by id, path or name ("default": the first
	// one; "pattern" or "pattern:NAME": a synthetic moving pattern).
	OpenCamera(id string, req CameraRequest) (Camera, error)
}
