package camera

import (
	"log/slog"
	"runtime"

	"github.com/voipd/voipd/hw"
)

// New returns macOS's camera system: none yet (NoBackend).
func New(log *slog.Logger) hw.CameraSystem {
	nb := noBackendOn(runtime.GOOS)
	if log != nil {
		log.Info("cameras", "backend", "none", "why", nb.Why)
	}
	return nb
}
