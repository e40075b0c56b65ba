package audio

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/gen2brain/malgo"
	"github.com/voipd/voipd/hw"
)

func TestKindOf(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{malgo.ErrBusy, hw.ErrBusy},
		{fmt.Errorf("open: %w", malgo.ErrBusy), hw.ErrBusy},
		{malgo.ErrDoesNotExist, hw.ErrAbsent},
		{malgo.ErrNoDevice, hw.ErrAbsent},
		{malgo.ErrAccessDenied, hw.ErrPermission},
		{malgo.ErrInvalidArgs, hw.ErrInvalid},
		{malgo.ErrFailedToOpenBackendDevice, hw.ErrUnavailable},
		{malgo.ErrGeneric, hw.ErrUnavailable},
		{syscall.EBUSY, hw.ErrBusy},
		{fmt.Errorf("x: %w", syscall.ENOENT), hw.ErrAbsent},
		{syscall.EACCES, hw.ErrPermission},
		{syscall.EINVAL, hw.ErrInvalid},
		{syscall.EIO, hw.ErrUnavailable},
		{errors.New("No such device"), hw.ErrAbsent},
		{errors.New("something else"), hw.ErrUnavailable},
	}
	for _, tt := range tests {
		e := deviceError("open capture", "mic", tt.err)
		if !errors.Is(e, tt.want) || e.Kind != tt.want {
			t.Errorf("%v: kind %v, want %v", tt.err, e.Kind, tt.want)
		}
		if !errors.Is(e, tt.err) {
			t.Errorf("%v: the native error is not kept for logs", tt.err)
		}
	}
}
