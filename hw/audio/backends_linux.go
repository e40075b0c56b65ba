package audio

import "github.com/gen2brain/malgo"

// backends are miniaudio's backends behind hw.AudioBackends on Linux.
var backends = map[string]malgo.Backend{
	"pulse": malgo.BackendPulseaudio,
	"alsa":  malgo.BackendAlsa,
	"null":  backendNull,
}

// chooseAuto picks "auto"'s backend: PulseAudio (or PipeWire's pulse
// server) when a server answers, keeping its context in s; else it returns
// "alsa" for New to open.
func (s *System) chooseAuto() string {
	ctx, err := newContext("pulse", s.log)
	if err == nil {
		if _, _, err = enumerate(ctx); err == nil {
			s.backend, s.ctx = "pulse", ctx
			s.log.Info("audio backend chosen", "backend", "pulse", "reason", "a pulse server answered")
			return "pulse"
		}
		freeContext(ctx)
	}
	s.log.Info("audio backend chosen", "backend", "alsa", "reason", "no pulse server", "pulse_error", err)
	return "alsa"
}
