package audio

import (
	"errors"
	"strings"
	"syscall"

	"github.com/gen2brain/malgo"
	"github.com/voipd/voipd/hw"
)

// deviceError wraps err, a malgo/miniaudio or system error, in a
// *hw.DeviceError of the right kind. It is the one place where native audio
// errors become hw kinds; nothing else in voipd looks at ma_result codes.
func deviceError(op, device string, err error) *hw.DeviceError {
	return &hw.DeviceError{Op: op, Device: device, Kind: kindOf(err), Err: err}
}

// kindOf maps a native error to an hw kind.
//
// miniaudio translates the errno of a failed open (snd_pcm_open's -EBUSY,
// PulseAudio's "no such entity", ...) to an ma_result, but only when the
// device was opened by an explicit id: with a nil id it tries several
// defaults and reports the generic MA_FAILED_TO_OPEN_BACKEND_DEVICE (-401),
// which is why this package never passes a nil id.
//
// CoreAudio's OSStatus reaches Go as miniaudio's ma_result too
// (ma_result_from_OSStatus): kAudioDevicePermissionsError becomes
// MA_ACCESS_DENIED, hence hw.ErrPermission (Apple's name for it). A device
// another process holds in hog mode is refused with that same OSStatus
// ('!hog'), so it too is permission, not busy: nothing in the result tells
// them apart, and the README's macOS section tells users so;
// kAudioDeviceUnsupportedFormatError MA_FORMAT_NOT_SUPPORTED, and a device
// unknown to CoreAudio never reaches it (resolve finds no such id: absent).
// The permission macOS refuses most often, the user's "no" to recording,
// makes no error at all (CoreAudio records silence): OpenCapture asks for
// it first (permission.go).
func kindOf(err error) error {
	if k := hw.Kind(err); k != nil {
		return k // already classified (a nested DeviceError)
	}
	var r malgo.Result
	if errors.As(err, &r) {
		switch r {
		case malgo.ErrBusy, malgo.ErrAlreadyInUse:
			return hw.ErrBusy
		case malgo.ErrDoesNotExist, malgo.ErrNoDevice:
			return hw.ErrAbsent
		case malgo.ErrAccessDenied:
			return hw.ErrPermission
		case malgo.ErrInvalidArgs, malgo.ErrInvalidDeviceConfig, malgo.ErrFormatNotSupported,
			malgo.ErrDeviceTypeNotSupported, malgo.ErrShareModeNotSupported:
			return hw.ErrInvalid
		}
		return hw.ErrUnavailable
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.EBUSY:
			return hw.ErrBusy
		case syscall.ENOENT, syscall.ENODEV, syscall.ENXIO:
			return hw.ErrAbsent
		case syscall.EACCES, syscall.EPERM:
			return hw.ErrPermission
		case syscall.EINVAL:
			return hw.ErrInvalid
		}
		return hw.ErrUnavailable
	}
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "no such device") {
		return hw.ErrAbsent
	}
	return hw.ErrUnavailable
}
