package audio

import (
	"strings"
	"testing"
)

// noPulseServer points libpulse at a socket nobody listens on, in a private
// runtime dir, so no pulse server can answer.
func noPulseServer(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("HOME", dir)
	t.Setenv("PULSE_SERVER", "unix:"+dir+"/none")
}

func TestAutoFallsBackToALSA(t *testing.T) {
	noPulseServer(t)
	s, err := New(Config{Backend: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Backend() != "alsa" {
		t.Fatalf("auto picked %q with no pulse server", s.Backend())
	}
}

func TestPulseWithoutServerNamesBackend(t *testing.T) {
	noPulseServer(t)
	s, err := New(Config{Backend: "pulse"})
	if err == nil {
		// Some libpulse versions connect lazily; then listing must fail.
		defer s.Close()
		if _, _, err = s.Devices(); err == nil {
			t.Fatal("pulse backend worked with no server")
		}
	}
	if !strings.Contains(err.Error(), "pulse") {
		t.Fatalf("error %q does not name the backend", err)
	}
}
