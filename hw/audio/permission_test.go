package audio

import (
	"bytes"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/voipd/voipd/hw"
)

// macOS's answer becomes hw.ErrPermission (the seeds' permission codes),
// never busy, with the way out named; "allowed" and "not asked yet" open
// the device.
func TestMicAccess(t *testing.T) {
	for _, tc := range []struct {
		av   int
		want micAccess
		kind error
		says string
	}{
		{avAuthorized, accessAllowed, nil, ""},
		{avNotDetermined, accessUndetermined, nil, ""},
		{avDenied, accessDenied, hw.ErrPermission, "Privacy & Security, Microphone"},
		{avRestricted, accessRestricted, hw.ErrPermission, "restricted"},
		{7, accessUndetermined, nil, ""}, // a status AVFoundation may add
	} {
		a := accessOfAV(tc.av)
		if a != tc.want {
			t.Errorf("accessOfAV(%d) = %v, want %v", tc.av, a, tc.want)
		}
		err := micAccessError("default", a)
		if tc.kind == nil {
			if err != nil {
				t.Errorf("status %d: %v, want the device opened", tc.av, err)
			}
			continue
		}
		var de *hw.DeviceError
		if !errors.As(err, &de) || de.Op != "open capture" || de.Device != "default" {
			t.Fatalf("status %d: %v, want a DeviceError opening capture \"default\"", tc.av, err)
		}
		if hw.Kind(err) != tc.kind || errors.Is(err, hw.ErrBusy) {
			t.Errorf("status %d: kind %v, want %v (not busy)", tc.av, hw.Kind(err), tc.kind)
		}
		if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "silence") {
			t.Errorf("status %d: %q does not say %q and why no CoreAudio error shows it", tc.av, err, tc.says)
		}
	}
	// Linux's answer is always allowed: a refused device fails to open
	// instead (TestALSA's EACCES case).
	if runtime.GOOS == "linux" && micAccessNow() != accessAllowed {
		t.Errorf("micAccessNow() = %v on Linux, want accessAllowed", micAccessNow())
	}
}

// OpenCapture asks the system's answer once the System is known open: a
// refusal fails as hw.ErrPermission naming the reason, "not asked yet"
// opens the device and warns, and a closed System answers closed whatever
// the answer. The null backend stands in for CoreAudio, the answer for TCC.
func TestOpenCaptureAsksAccess(t *testing.T) {
	for _, tc := range []struct {
		access micAccess
		reason error // nil: opens
	}{
		{accessDenied, errMicDenied},
		{accessRestricted, errMicRestricted},
		{accessUndetermined, nil},
		{accessAllowed, nil},
	} {
		var log lockedBuffer
		s, err := New(Config{Backend: "null", Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		s.micAccess = func() micAccess { return tc.access }
		c, err := s.OpenCapture("default")
		if tc.reason != nil {
			if err == nil {
				c.Close()
				t.Errorf("access %v: the microphone opened", tc.access)
			} else if hw.Kind(err) != hw.ErrPermission || !errors.Is(err, tc.reason) {
				t.Errorf("access %v: %v, want hw.ErrPermission wrapping %q", tc.access, err, tc.reason)
			}
		} else if err != nil {
			t.Errorf("access %v: %v, want the microphone open", tc.access, err)
		} else {
			c.Close()
		}
		warned := strings.Contains(log.String(), "has not been asked yet")
		if warned != (tc.access == accessUndetermined) {
			t.Errorf("access %v: warned %v; log:\n%s", tc.access, warned, log.String())
		}
		s.Close()
		if _, err := s.OpenCapture("default"); hw.Kind(err) != hw.ErrClosed {
			t.Errorf("access %v, System closed: %v, want hw.ErrClosed", tc.access, err)
		}
	}
}

// lockedBuffer is a log's destination that devices' threads may write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
