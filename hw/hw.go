// Package hw is the hardware boundary of voipd: the small device interfaces
// the rest of the daemon sees, the descriptions of devices, and the closed set
// of device error kinds (busy, absent, permission, ...).
//
// This root package is cgo-free on purpose: the daemon maps device errors to
// the seeds' error codes without linking miniaudio. The backends live in
// subpackages (hw/audio for miniaudio through malgo, hw/synth for synthetic
// sources) and translate their native errors to the kinds here exactly once.
package hw

import (
	"errors"
	"fmt"
	"time"
)

// The audio format every device speaks to the rest of voipd: 48 kHz mono
// signed 16-bit. Frames are 20 ms by default (Opus' natural frame and
// WebRTC's ptime); a pipeline may choose another length at start (10 ms
// with audio.frameMs = 10), and devices take whatever length they are
// given, so the frame size is the pipeline's, not a device's.
const (
	SampleRate   = 48000
	Channels     = 1
	FrameMillis  = 20                              // the default frame
	FrameSamples = SampleRate * FrameMillis / 1000 // 960
	// MaxFrameSamples is the longest frame a device accepts (60 ms, the
	// longest Opus frame a pipeline could choose).
	MaxFrameSamples = SampleRate * 60 / 1000
)

// SamplesPerMs is the number of samples in one millisecond.
const SamplesPerMs = SampleRate / 1000

// ValidFrameLen reports whether n samples make a frame devices take: a
// whole number of milliseconds, at most MaxFrameSamples.
func ValidFrameLen(n int) bool {
	return n > 0 && n%SamplesPerMs == 0 && n <= MaxFrameSamples
}

// Device error kinds. Backends wrap them in a *DeviceError; callers test
// with errors.Is(err, hw.ErrBusy) and never look at the backend's own codes.
var (
	ErrBusy        = errors.New("device busy")
	ErrAbsent      = errors.New("device absent")
	ErrPermission  = errors.New("permission denied")
	ErrInvalid     = errors.New("invalid device request")
	ErrUnavailable = errors.New("device unavailable")
	ErrClosed      = errors.New("device closed")
)

// DeviceError is what every backend returns for a failed device operation.
type DeviceError struct {
	Op     string // "open capture", "open playback", "start", "list", ...
	Device string // the id the caller asked for
	Kind   error  // one of the Err* kinds above
	Err    error  // the backend's own error, for logs
}

func (e *DeviceError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s %q: %v: %v", e.Op, e.Device, e.Kind, e.Err)
	}
	return fmt.Sprintf("%s %q: %v", e.Op, e.Device, e.Kind)
}

// Is makes errors.Is(err, hw.ErrBusy) true for a DeviceError of that kind.
func (e *DeviceError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the backend's own error.
func (e *DeviceError) Unwrap() error { return e.Err }

// Kind returns the device error kind of err (one of the Err* values), or nil
// when err carries none.
func Kind(err error) error {
	for _, k := range []error{ErrBusy, ErrAbsent, ErrPermission, ErrInvalid, ErrUnavailable, ErrClosed} {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// DeviceInfo describes one device, as listDevices and status report it.
type DeviceInfo struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Backend   string `json:"backend"`
	Default   bool   `json:"default"`
	Synthetic bool   `json:"synthetic"`
}

// Capture is an open microphone. Frames are pulled, so the device clock
// paces the reader.
type Capture interface {
	// Read fills frame (the pipeline's frame length, see ValidFrameLen)
	// with the next len(frame) samples, blocking until the device has
	// delivered them. After Close it returns an error wrapping ErrClosed.
	Read(frame []int16) error
	Info() DeviceInfo
	Close() error
}

// Playback is an open speaker.
type Playback interface {
	// Write queues one frame (see ValidFrameLen), blocking while the
	// device's buffer is full, so the writer is paced by the device clock.
	// After Close it returns an error wrapping ErrClosed.
	Write(frame []int16) error
	Info() DeviceInfo
	Close() error
}

// ReadyWaiter is implemented by playback devices that can wait until they
// have room for the next frame without taking one. A writer that waits
// first and then produces the frame (the mixer pulling from its jitter
// buffers) hands the device audio one frame fresher than one that
// produces it and then blocks in Write. Wrappers expose the device under
// them with Unwrap() any.
type ReadyWaiter interface {
	// WaitReady blocks until a Write of samples would not block. After
	// Close it returns an error wrapping ErrClosed.
	WaitReady(samples int) error
}

// RoomReporter is implemented by playback devices with a queue ahead of
// the device (a ring its callback plays from) and by no paced slot: Room
// is how many samples a Write would take now without blocking. A writer
// woken at the frame rate by something else (the microphone) can keep the
// queue full from that wakeup, and WaitReady for more than a frame of room
// meanwhile, so the speaker wakes it only when the other wakeup did not
// come.
type RoomReporter interface {
	Room() int
}

// AudioSystem opens and lists audio devices of one configured backend.
type AudioSystem interface {
	// OpenCapture opens a microphone by id or name ("default" for the
	// backend's default; "tone:440" for a synthetic tone).
	OpenCapture(id string) (Capture, error)
	// OpenPlayback opens a speaker by id or name ("default"; "null" for a
	// synthetic sink that discards audio at the device pace).
	OpenPlayback(id string) (Playback, error)
	// Devices lists the capture and playback devices.
	Devices() (capture, playback []DeviceInfo, err error)
}

// Latency is implemented by audio devices that know how long audio waits
// between the device and its reader or writer: for a speaker, what is
// queued ahead of the sample being played; for a microphone, what was
// captured and not yet read. An echo canceller adds the two to find when
// a played sample's echo arrives, so neither is over-reported.
type Latency interface {
	Latency() time.Duration
}

// DropCounter is implemented by devices that count frames lost because the
// reader or writer fell behind (an overrun or underrun of the ring).
type DropCounter interface {
	Dropped() uint64
}

// LatenessReporter is implemented by devices whose callbacks come from a
// driver thread (miniaudio): the worst lateness of a callback against the
// device clock, the callbacks more than one period late, and all callbacks.
type LatenessReporter interface {
	CallbackLateness() (worst time.Duration, late, callbacks uint64)
}
