package camera

import (
	"errors"
	"strings"
	"testing"

	"github.com/voipd/voipd/hw"
)

// Where voipd has no camera backend (macOS): no camera listed, the reason
// given, the pattern opened, any other camera absent with the reason.
func TestNoBackend(t *testing.T) {
	var sys hw.CameraSystem = noBackendOn("darwin")
	list, err := sys.Cameras()
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("Cameras() = %v, %v; want an empty list (JSON [], not null) and no error", list, err)
	}
	why := sys.(interface{ Unsupported() string }).Unsupported()
	if !strings.Contains(why, "darwin") || !strings.Contains(why, "pattern") {
		t.Errorf("Unsupported() = %q: want the system named and the way to send video anyway", why)
	}
	for _, id := range []string{"default", "FaceTime HD Camera", "video0"} {
		_, err := sys.OpenCamera(id, hw.CameraRequest{Width: 640, Height: 480, FPS: 30})
		var de *hw.DeviceError
		if !errors.As(err, &de) || !errors.Is(err, hw.ErrAbsent) || de.Device != id || !strings.Contains(err.Error(), why) {
			t.Errorf("OpenCamera(%q) = %v, want an absent DeviceError carrying %q", id, err, why)
		}
	}
	cam, err := sys.OpenCamera("pattern", hw.CameraRequest{Width: 64, Height: 48, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	f, err := cam.ReadFrame()
	if err != nil || f.Width != 64 || f.Height != 48 || !cam.Info().Synthetic {
		t.Errorf("pattern frame %dx%d, err %v, synthetic %v", f.Width, f.Height, err, cam.Info().Synthetic)
	}
}
