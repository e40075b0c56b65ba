package audio

import (
	"errors"
	"runtime"
	"strings"
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
