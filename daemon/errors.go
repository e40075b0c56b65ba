package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/room"
)

// The reasons of DESIGN.md §2 that the daemon itself produces (roomd's come
// through room.Error unchanged). Stable words: extend, never rename.
const (
	reasonBusy        = "busy"
	reasonAbsent      = "absent"
	reasonPermission  = "permission"
	reasonScope       = "scope"
	reasonNotInRoom   = "not_in_room"
	reasonParams      = "params"
	reasonInternal    = "internal"
	reasonDisabled    = "disabled"
	reasonUnreachable = "unreachable"
	reasonTimeout     = "timeout"
)

// kind is the daemon's closed set of failures; seedError maps each to the
// seeds' codes in one place.
type kind int

const (
	kindInRoom      kind = iota + 1 // -1: already in a room or a call
	kindCaptureBusy                 // -2: the recording device is busy
	kindExited                      // -3: an exit or SIGTERM arrived while joining
	kindSystem                      // -1000: anything else; reason says what
)

// failure is an error the daemon decided on, with the reason word clients
// switch on and a detail for people.
type failure struct {
	kind   kind
	reason string
	detail string
	cause  error
}

func (f *failure) Error() string {
	if f.cause != nil {
		return f.detail + ": " + f.cause.Error()
	}
	return f.detail
}

func (f *failure) Unwrap() error { return f.cause }

func fail(k kind, reason, format string, a ...any) *failure {
	return &failure{kind: k, reason: reason, detail: fmt.Sprintf(format, a...)}
}

// Causes of a cancelled join, told apart by context.Cause.
var (
	errExitWhileJoining = errors.New("exitVoIPChat arrived while joining")
	errShutdown         = errors.New("voipd is shutting down")
)

// seedError maps any error of a group-room method to the seed's answer:
// code, "<method>:fail <detail>" and data {errCode, errMsg, reason}. It is
// the only place where device kinds, room reasons and the daemon's own
// failures become numbers.
func seedError(method string, err error) *control.Error {
	var ce *control.Error
	if errors.As(err, &ce) {
		return ce // already a JSON-RPC error (bad params)
	}
	code, reason, detail := -1000, reasonInternal, err.Error()
	var f *failure
	var re *room.Error
	switch {
	case errors.As(err, &f):
		reason, detail = f.reason, f.Error()
		switch f.kind {
		case kindInRoom:
			code = -1
		case kindCaptureBusy:
			code = -2
		case kindExited:
			code = -3
		}
	case errors.Is(err, hw.ErrBusy):
		code, reason = -2, reasonBusy
	case errors.Is(err, hw.ErrAbsent):
		reason = reasonAbsent
	case errors.Is(err, hw.ErrPermission):
		reason = reasonPermission
	case errors.As(err, &re):
		reason = re.Reason
	case errors.Is(err, errExitWhileJoining), errors.Is(err, errShutdown), errors.Is(err, context.Canceled):
		code, reason = -3, "interrupted"
	}
	msg := method + ":fail " + detail
	return &control.Error{Code: code, Message: msg, Data: map[string]any{
		"errCode": code, "errMsg": msg, "reason": reason,
	}}
}

// ok completes a success result with errCode 0 and "<method>:ok".
func ok(method string, fields map[string]any) map[string]any {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["errCode"] = 0
	fields["errMsg"] = method + ":ok"
	return fields
}
