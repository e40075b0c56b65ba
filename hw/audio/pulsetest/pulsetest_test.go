package pulsetest

import (
	"strings"
	"testing"
)

func TestStart(t *testing.T) {
	s := Start(t, 440)
	if len(s.Socket()) >= 108 {
		t.Fatalf("socket path %q too long for a unix socket", s.Socket())
	}
	sources := s.Pactl(t, "list", "short", "sources")
	if !strings.Contains(sources, s.MonitorSource()) {
		t.Fatalf("no %s in\n%s", s.MonitorSource(), sources)
	}
	if mods := s.Pactl(t, "list", "short", "modules"); !strings.Contains(mods, "module-sine") {
		t.Fatalf("module-sine not loaded:\n%s", mods)
	}
	if sinks := s.Pactl(t, "list", "short", "sinks"); !strings.Contains(sinks, s.Sink()) {
		t.Fatalf("no %s in\n%s", s.Sink(), sinks)
	}
	var server bool
	for _, kv := range s.Env() {
		server = server || strings.HasPrefix(kv, "PULSE_SERVER=unix:"+s.Socket())
	}
	if !server {
		t.Fatalf("Env() = %q lacks PULSE_SERVER", s.Env())
	}
}

// TestStop: the server is gone after its test's cleanup.
func TestStop(t *testing.T) {
	var s *Server
	t.Run("inner", func(t *testing.T) { s = Start(t, 440) })
	select {
	case <-s.exited:
	default:
		t.Fatal("pulseaudio still running after cleanup")
	}
}
