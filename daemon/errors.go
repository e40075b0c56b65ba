package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	kindInRoom    kind = iota + 1 // already in a room or a call: -1 (RTC: 115901)
	kindExited                    // an exit or SIGTERM arrived while joining: -3
	kindSystem                    // anything else; reason says what: -1000
	kindDevice                    // a device failed to open; device and cause say which and why
	kindInCall                    // 1v1: already in a call, from the client holding it: -20002
	kindCallHeld                  // 1v1: another control client holds the call: -20003
	kindCallOff                   // 1v1: switched off in the config: -20000
	kindNoDevice                  // 1v1: the call needs a device this daemon lacks: -20001
	kindDestroyed                 // RTC: the context was destroyed: 115910
)

// failure is an error the daemon decided on, with the reason word clients
// switch on and a detail for people.
type failure struct {
	kind   kind
	reason string
	detail string
	device string // kindDevice: "microphone", "speaker", "camera"
	scope  string // reason "scope": "scope.record" or "scope.camera"
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

// reasonOf is the reason word of a device error.
func reasonOf(err error) string {
	switch hw.Kind(err) {
	case hw.ErrBusy:
		return reasonBusy
	case hw.ErrAbsent:
		return reasonAbsent
	case hw.ErrPermission:
		return reasonPermission
	}
	return reasonInternal
}

// Causes of a cancelled join, told apart by context.Cause.
var (
	errExitWhileJoining = errors.New("exitVoIPChat arrived while joining")
	errShutdown         = errors.New("voipd is shutting down")
)

// family is which seed a method mirrors: its error codes differ.
type family int

const (
	famGroup family = iota // wx.joinVoIPChat and the daemon's own methods
	fam1v1                 // wx.join1v1Chat
	famRTC                 // tt RtcRoomContext
)

func familyOf(method string) family {
	switch method {
	case "join1v1Chat", "setEnable1v1Chat", "answer1v1Chat", "switch1v1Chat":
		return fam1v1
	case "createRtcRoomContext", "joinRtcRoom", "exitRtcRoom", "switchCamera",
		"changeVideoCapture", "changeAudioCapture", "destroyRtcRoomContext", "changeSubscribeState":
		return famRTC
	}
	return famGroup
}

// seedError maps any error of a method to the seed's answer: code,
// "<method>:fail <detail>" and data {errCode, errMsg, reason} (plus errNo for
// RTC methods). It is the only place where device kinds, room reasons and
// the daemon's own failures become numbers.
func seedError(method string, err error) *control.Error {
	fam := familyOf(method)
	var ce *control.Error
	if errors.As(err, &ce) {
		if fam == famRTC && ce.Code == control.CodeInvalidParams {
			return rtcError(method, 115999, 20000, reasonParams, strings.TrimPrefix(ce.Message, "invalid params: "))
		}
		return ce // a JSON-RPC error (bad params) as it is
	}
	reason, detail := reasonInternal, err.Error()
	var f *failure
	var re *room.Error
	isFailure := errors.As(err, &f)
	isRoom := errors.As(err, &re)
	switch {
	case isFailure:
		reason, detail = f.reason, f.Error()
	case isRoom:
		reason = re.Reason
	case errors.Is(err, errExitWhileJoining), errors.Is(err, errShutdown), errors.Is(err, context.Canceled):
		reason = "interrupted"
		f = &failure{kind: kindExited}
		isFailure = true
	default:
		if k := hw.Kind(err); k != nil {
			reason = reasonOf(err)
		}
	}
	switch fam {
	case famRTC:
		code, errNo := rtcCodes(f, isFailure, reason)
		if code == 115902 {
			detail = "invalid token" // the seed's text; data.reason says which way
		}
		return rtcError(method, code, errNo, reason, detail)
	case fam1v1:
		return groupError(method, callCode(f, isFailure, reason), reason, detail)
	}
	return groupError(method, groupCode(f, isFailure, reason), reason, detail)
}

func groupCode(f *failure, isFailure bool, reason string) int {
	if !isFailure && reason == reasonBusy {
		return -2 // a bare device error: only capture devices reach here
	}
	if isFailure {
		switch f.kind {
		case kindInRoom, kindInCall, kindCallHeld:
			return -1
		case kindExited:
			return -3
		case kindDevice:
			if reason == reasonBusy && f.device != "speaker" {
				return -2 // the recording device, or in a video room the camera
			}
		}
	}
	return -1000
}

func callCode(f *failure, isFailure bool, reason string) int {
	if isFailure {
		switch f.kind {
		case kindInRoom:
			return -1
		case kindExited:
			return -3
		case kindInCall:
			return -20002
		case kindCallHeld:
			return -20003
		case kindCallOff:
			return -20000
		case kindNoDevice:
			return -20001
		case kindDevice:
			switch {
			case reason == reasonBusy && f.device != "speaker":
				return -2
			case reason == reasonPermission && f.device == "camera":
				return -30001
			case reason == reasonPermission && f.device == "microphone":
				return -30002
			}
		}
		if f.reason == reasonScope {
			if f.scope == "scope.camera" {
				return -30004
			}
			return -30003
		}
	}
	switch reason {
	case "declined":
		return -20010
	case "no_answer":
		return -20011
	case "offline":
		return -20012
	case "listener_busy":
		return -20013
	case reasonInternal:
		return -30000
	}
	return -1000
}

func rtcCodes(f *failure, isFailure bool, reason string) (int, int) {
	if isFailure {
		switch f.kind {
		case kindInRoom:
			return 115901, 21100
		case kindDestroyed:
			return 115910, 115910
		case kindDevice:
			if f.device == "microphone" {
				return 115990, 115990
			}
		}
		if f.reason == reasonScope {
			return 10200, 10200
		}
	}
	switch reason {
	case "token_invalid", "token_expired":
		return 115902, 21101
	case reasonParams:
		return 115999, 20000
	}
	return 115903, 21102
}

func groupError(method string, code int, reason, detail string) *control.Error {
	msg := method + ":fail " + detail
	return &control.Error{Code: code, Message: msg, Data: map[string]any{
		"errCode": code, "errMsg": msg, "reason": reason,
	}}
}

func rtcError(method string, code, errNo int, reason, detail string) *control.Error {
	msg := method + ":fail " + detail
	return &control.Error{Code: code, Message: msg, Data: map[string]any{
		"errCode": code, "errNo": errNo, "errMsg": msg, "reason": reason,
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
