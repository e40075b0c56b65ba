package audio

import (
	"errors"

	"github.com/voipd/voipd/hw"
)

// micAccess is the system's own answer to "may this process record?",
// asked before a microphone is opened. macOS keeps one per process (TCC,
// read through AVFoundation: permission_darwin.go) and, when it refuses,
// CoreAudio opens and starts the device anyway and delivers silence, so
// no miniaudio result would ever say so. Linux has no such gate: a
// refused device fails to open (EACCES from ALSA, an access error from
// PulseAudio) and kindOf maps that.
type micAccess int

const (
	accessAllowed      micAccess = iota
	accessUndetermined           // not asked yet: the system asks the user at the first recording
	accessDenied                 // the user refused
	accessRestricted             // a configuration profile or parental controls forbid it
)

// AVAuthorizationStatus values (AVFoundation's AVCaptureDevice.h).
const (
	avNotDetermined = 0
	avRestricted    = 1
	avDenied        = 2
	avAuthorized    = 3
)

// accessOfAV reads an AVAuthorizationStatus. A value AVFoundation may add
// later is taken as undetermined: the device is opened, as before asking.
func accessOfAV(status int) micAccess {
	switch status {
	case avAuthorized:
		return accessAllowed
	case avDenied:
		return accessDenied
	case avRestricted:
		return accessRestricted
	}
	return accessUndetermined
}

// Why a refused microphone is refused, for the error and the log.
var (
	errMicDenied = errors.New("macOS denies this process the microphone " +
		"(System Settings, Privacy & Security, Microphone: allow the app that runs voipd, " +
		"e.g. the terminal, or voipd itself under launchd); CoreAudio would record silence")
	errMicRestricted = errors.New("the microphone is restricted on this Mac " +
		"(a configuration profile or Screen Time forbids recording); CoreAudio would record silence")
)

// micAccessError is the error OpenCapture returns for a microphone the
// system refuses this process: hw.ErrPermission, which the daemon answers
// with the seeds' permission codes (-1000 "permission" in a group room,
// -30002 in a call, 115990 in a token room), never -2 (busy). nil when
// recording may go ahead.
func micAccessError(id string, a micAccess) error {
	switch a {
	case accessDenied:
		return &hw.DeviceError{Op: "open capture", Device: id, Kind: hw.ErrPermission, Err: errMicDenied}
	case accessRestricted:
		return &hw.DeviceError{Op: "open capture", Device: id, Kind: hw.ErrPermission, Err: errMicRestricted}
	}
	return nil
}
