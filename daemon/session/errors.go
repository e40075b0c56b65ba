package session

import (
	"errors"
	"fmt"

	"github.com/voipd/voipd/hw"
)

// The reason words of the control API (README.md, "Error codes") that
// voipd itself decides (room server failures bring theirs through
// room.Error unchanged). Stable words: extend, never rename.
const (
	ReasonBusy        = "busy"
	ReasonAbsent      = "absent"
	ReasonPermission  = "permission"
	ReasonScope       = "scope"
	ReasonNotInRoom   = "not_in_room"
	ReasonParams      = "params"
	ReasonInternal    = "internal"
	ReasonDisabled    = "disabled"
	ReasonInterrupted = "interrupted"
)

// ErrKind is the closed set of failures voipd decides on; package daemon
// maps each, with its reason, to the seeds' codes in one place.
type ErrKind int

const (
	ErrSystem    ErrKind = iota // anything else; Reason says what
	ErrInRoom                   // a join while joining or in a room
	ErrExited                   // an exit or SIGTERM arrived while joining
	ErrDevice                   // a device failed to open; Device and Cause say which and why
	ErrInCall                   // a call while in a call, from the client that holds it
	ErrCallHeld                 // a call while another control client holds one
	ErrCallOff                  // two-party calls are switched off in the config
	ErrNoDevice                 // the call needs a device this one lacks
	ErrDestroyed                // the RTC context was destroyed
)

// Error is a failure voipd decided on: the kind clients' codes follow, the
// reason word they switch on, and a detail for people.
type Error struct {
	Kind   ErrKind
	Reason string
	Detail string
	Device string // ErrDevice: "microphone", "speaker" or "camera"
	Scope  string // Reason "scope": "scope.record" or "scope.camera"
	Cause  error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return e.Detail + ": " + e.Cause.Error()
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.Cause }

// Fail makes an Error of kind k with a reason and a formatted detail.
func Fail(k ErrKind, reason, format string, a ...any) *Error {
	return &Error{Kind: k, Reason: reason, Detail: fmt.Sprintf(format, a...)}
}

// DeviceReason is the reason word of a device error (hw's kinds).
func DeviceReason(err error) string {
	switch hw.Kind(err) {
	case hw.ErrBusy:
		return ReasonBusy
	case hw.ErrAbsent:
		return ReasonAbsent
	case hw.ErrPermission:
		return ReasonPermission
	}
	return ReasonInternal
}

// deviceFailure is the failure of opening device ("microphone",
// "speaker", "camera") id.
func deviceFailure(device, id string, err error) *Error {
	return &Error{Kind: ErrDevice, Device: device, Reason: DeviceReason(err), Detail: device + " " + id, Cause: err}
}

// Causes of a cancelled join, told apart by context.Cause; a join they
// end fails with ErrExited.
var (
	ErrExitWhileJoining = errors.New("exitVoIPChat arrived while joining")
	ErrShutdown         = errors.New("voipd is shutting down")
)

func notInRoom(format string, a ...any) *Error {
	return Fail(ErrSystem, ReasonNotInRoom, format, a...)
}
