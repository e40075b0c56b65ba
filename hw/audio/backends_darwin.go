package audio

import "github.com/gen2brain/malgo"

// backends are miniaudio's backends behind hw.AudioBackends on macOS.
var backends = map[string]malgo.Backend{
	"coreaudio": malgo.BackendCoreaudio,
	"null":      backendNull,
}

// chooseAuto picks "auto"'s backend: CoreAudio, the only sound system
// macOS has, for New to open.
func (s *System) chooseAuto() string {
	s.log.Info("audio backend chosen", "backend", "coreaudio", "reason", "macOS")
	return "coreaudio"
}
