//go:build linux

package camera

import (
	"errors"
	"strings"
	"syscall"

	"github.com/voipd/voipd/hw"
)

// deviceError wraps err, a kernel or blackjack/webcam error, in a
// *hw.DeviceError of the right kind. It is the one place where V4L2 errors
// become hw kinds; nothing else in voipd looks at errno values.
func deviceError(op, device string, err error) *hw.DeviceError {
	return &hw.DeviceError{Op: op, Device: device, Kind: kindOf(err), Err: err}
}

// errnoKinds maps the errnos a V4L2 node returns to hw kinds. ENODEV is what
// every ioctl and poll on a node returns once its camera is unplugged, so a
// camera vanishing mid-stream reads as absent, like one never plugged in.
var errnoKinds = []struct {
	errno syscall.Errno
	kind  error
}{
	{syscall.EBUSY, hw.ErrBusy},
	{syscall.ENOENT, hw.ErrAbsent},
	{syscall.ENODEV, hw.ErrAbsent},
	{syscall.ENXIO, hw.ErrAbsent},
	{syscall.EACCES, hw.ErrPermission},
	{syscall.EPERM, hw.ErrPermission},
	{syscall.EINVAL, hw.ErrInvalid},
}

// kindOf maps an error to an hw kind.
//
// blackjack/webcam's StartStreaming flattens the errno of a failed
// VIDIOC_REQBUFS, mmap or VIDIOC_STREAMON into a string ("Failed to map
// request buffers: device or resource busy"), so when no errno is wrapped,
// the message's tail is matched against the errnos' own texts.
func kindOf(err error) error {
	if err == nil {
		return hw.ErrUnavailable
	}
	if k := hw.Kind(err); k != nil {
		return k // already classified (a nested DeviceError)
	}
	if errors.Is(err, errNotCapture) {
		return hw.ErrInvalid
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		for _, e := range errnoKinds {
			if errno == e.errno {
				return e.kind
			}
		}
		return hw.ErrUnavailable
	}
	msg := err.Error()
	for _, e := range errnoKinds {
		if strings.HasSuffix(msg, e.errno.Error()) {
			return e.kind
		}
	}
	return hw.ErrUnavailable
}
