package hw

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDeviceErrorKinds(t *testing.T) {
	base := errors.New("snd_pcm_open: Device or resource busy")
	for _, k := range []error{ErrBusy, ErrAbsent, ErrPermission, ErrInvalid, ErrUnavailable, ErrClosed} {
		e := fmt.Errorf("join: %w", &DeviceError{Op: "open capture", Device: "hw:0", Kind: k, Err: base})
		if !errors.Is(e, k) {
			t.Errorf("errors.Is(%v, %v) = false", e, k)
		}
		if got := Kind(e); got != k {
			t.Errorf("Kind = %v, want %v", got, k)
		}
		if !errors.Is(e, base) {
			t.Errorf("the backend's error is not reachable through Unwrap")
		}
		if !strings.Contains(e.Error(), "hw:0") || !strings.Contains(e.Error(), k.Error()) {
			t.Errorf("message %q does not name the device and the kind", e)
		}
	}
	if Kind(errors.New("other")) != nil || Kind(nil) != nil {
		t.Error("Kind of an error without a kind is not nil")
	}
	other := &DeviceError{Kind: ErrBusy}
	if errors.Is(other, ErrAbsent) {
		t.Error("a busy error matches ErrAbsent")
	}
}
