package camera

import (
	"errors"
	"fmt"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
)

// NoBackend is the camera system of a system voipd has no camera backend
// for (macOS, until an AVFoundation one is written): it lists no camera and
// says why (Unsupported, which listDevices reports), opens the synthetic
// pattern as every System does, and refuses every other id as absent, so a
// video room answers the seeds' camera error (-1000 "absent" in a group
// room; a call needing video, -20001) with the reason in its message.
type NoBackend struct {
	// Why is the reason, e.g. "no camera backend on darwin yet".
	Why string
}

// Cameras lists none.
func (n NoBackend) Cameras() ([]hw.CameraInfo, error) { return []hw.CameraInfo{}, nil }

// Unsupported says why no camera is listed.
func (n NoBackend) Unsupported() string { return n.Why }

// OpenCamera opens "pattern" and "pattern:NAME"; any other id is absent.
func (n NoBackend) OpenCamera(id string, req hw.CameraRequest) (hw.Camera, error) {
	if name, ok := hw.ParsePattern(id); ok {
		return synth.NewPatternCamera(name, req), nil
	}
	return nil, &hw.DeviceError{Op: "open camera", Device: id, Kind: hw.ErrAbsent, Err: errors.New(n.Why)}
}

// noBackendOn is the NoBackend of system goos.
func noBackendOn(goos string) NoBackend {
	return NoBackend{Why: fmt.Sprintf("voipd has no camera backend on %s yet (V4L2 is Linux's; AVFoundation's is not written): only video.camera = \"pattern\" sends video", goos)}
}

var _ hw.CameraSystem = NoBackend{}
