package daemon

import (
	"context"
	"errors"
	"strings"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/daemon/session"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/room"
)

// The seeds' codes voipd answers with, named once. Replies get them from
// seedError below; events from events.go. The control API (README.md)
// lists them.
const (
	// WeChat's group rooms (seeds 000/001).
	codeInRoom      = -1    // already in a room or a call
	codeDeviceBusy  = -2    // the recording device (or a video room's camera) is busy
	codeInterrupted = -3    // an exit, SIGTERM or another call arrived while joining
	codeOther       = -1000 // anything else; data.reason says what

	// WeChat's two-party calls (seed 002), with voipd's own -2001x.
	codeCallsOff        = -20000
	codeCallNoDevice    = -20001
	codeInCall          = -20002
	codeCallHeld        = -20003
	codeCallInternal    = -30000
	codeCameraDenied    = -30001
	codeMicDenied       = -30002
	codeNoRecordScope   = -30003
	codeNoCameraScope   = -30004
	codeCallDeclined    = -20010
	codeCallNoAnswer    = -20011
	codeListenerOffline = -20012
	codeListenerBusy    = -20013

	// Douyin's RtcRoomContext (seed 003): the code, and errNo beside it.
	rtcParams, errNoParams     = 115999, 20000
	rtcInRoom, errNoInRoom     = 115901, 21100
	rtcBadToken, errNoBadToken = 115902, 21101
	rtcJoinFailed, errNoJoin   = 115903, 21102
	rtcDestroyed               = 115910          // errNo the same
	rtcAuthDeny                = 10200           // errNo the same
	rtcMicFailed               = 115990          // errNo the same
	rtcTokenInvalidMsg         = "invalid token" // the seed's errMsg; data.reason says which way

	// Events' codes: the room lost (onVoIPChatInterrupted's errCode,
	// onRtcChatInterrupted's errNo), and voipd's own state codes of
	// onVoIPChatStateChanged (code) and onRtcStateChange (errNo).
	groupInterrupted  = codeOther
	rtcInterrupted    = 115903
	stateTokenExpiry  = 0 // onRtcStateChange: the token expires soon
	stateReconnecting = 1
	stateReconnected  = 2
	stateDeviceLost   = 4
	stateDeviceBack   = 5
)

// seedError maps any error of a method of family fam to the seed's answer:
// code, "<method>:fail <detail>" and data {errCode, errMsg, reason} (plus
// errNo for RTC methods). It is the only place where device kinds, room
// reasons and voipd's own failures become reply codes.
func seedError(fam family, method string, err error) *control.Error {
	var ce *control.Error
	if errors.As(err, &ce) {
		if fam == famRTC && ce.Code == control.CodeInvalidParams {
			return rtcError(method, rtcParams, errNoParams, session.ReasonParams, strings.TrimPrefix(ce.Message, "invalid params: "))
		}
		return ce // a JSON-RPC error (bad params) as it is
	}
	reason, detail := session.ReasonInternal, err.Error()
	var f *session.Error
	var re *room.Error
	switch {
	case errors.As(err, &f):
		reason = f.Reason
	case errors.As(err, &re):
		reason = re.Reason
	case errors.Is(err, context.Canceled):
		f = &session.Error{Kind: session.ErrExited, Reason: session.ReasonInterrupted}
		reason = f.Reason
	case hw.Kind(err) != nil:
		reason = session.DeviceReason(err)
	}
	switch fam {
	case famRTC:
		code, errNo := rtcCodes(f, reason)
		if code == rtcBadToken {
			detail = rtcTokenInvalidMsg
		}
		return rtcError(method, code, errNo, reason, detail)
	case fam1v1:
		return groupError(method, callCode(f, reason), reason, detail)
	}
	return groupError(method, groupCode(f, reason), reason, detail)
}

func groupCode(f *session.Error, reason string) int {
	if f == nil {
		if reason == session.ReasonBusy {
			return codeDeviceBusy // a bare device error: only capture devices reach here
		}
		return codeOther
	}
	switch f.Kind {
	case session.ErrInRoom, session.ErrInCall, session.ErrCallHeld:
		return codeInRoom
	case session.ErrExited:
		return codeInterrupted
	case session.ErrDevice:
		if reason == session.ReasonBusy && f.Device != "speaker" {
			return codeDeviceBusy // the recording device, or in a video room the camera
		}
	}
	return codeOther
}

func callCode(f *session.Error, reason string) int {
	if f != nil {
		switch f.Kind {
		case session.ErrInRoom:
			return codeInRoom
		case session.ErrExited:
			return codeInterrupted
		case session.ErrInCall:
			return codeInCall
		case session.ErrCallHeld:
			return codeCallHeld
		case session.ErrCallOff:
			return codeCallsOff
		case session.ErrNoDevice:
			return codeCallNoDevice
		case session.ErrDevice:
			switch {
			case reason == session.ReasonBusy && f.Device != "speaker":
				return codeDeviceBusy
			case reason == session.ReasonPermission && f.Device == "camera":
				return codeCameraDenied
			case reason == session.ReasonPermission && f.Device == "microphone":
				return codeMicDenied
			}
		}
		if f.Reason == session.ReasonScope {
			if f.Scope == scopeCamera {
				return codeNoCameraScope
			}
			return codeNoRecordScope
		}
	}
	switch reason {
	case "declined":
		return codeCallDeclined
	case "no_answer":
		return codeCallNoAnswer
	case "offline":
		return codeListenerOffline
	case "listener_busy":
		return codeListenerBusy
	case session.ReasonInternal:
		return codeCallInternal
	}
	return codeOther
}

func rtcCodes(f *session.Error, reason string) (code, errNo int) {
	if f != nil {
		switch f.Kind {
		case session.ErrInRoom:
			return rtcInRoom, errNoInRoom
		case session.ErrDestroyed:
			return rtcDestroyed, rtcDestroyed
		case session.ErrDevice:
			if f.Device == "microphone" {
				return rtcMicFailed, rtcMicFailed
			}
		}
		if f.Reason == session.ReasonScope {
			return rtcAuthDeny, rtcAuthDeny
		}
	}
	switch reason {
	case "token_invalid", "token_expired":
		return rtcBadToken, errNoBadToken
	case session.ReasonParams:
		return rtcParams, errNoParams
	}
	return rtcJoinFailed, errNoJoin
}

// errorData is a failure's data (the control API, README.md): errNo for RTC
// methods only.
type errorData struct {
	ErrCode int    `json:"errCode"`
	ErrNo   *int   `json:"errNo,omitempty"`
	ErrMsg  string `json:"errMsg"`
	Reason  string `json:"reason"`
}

func groupError(method string, code int, reason, detail string) *control.Error {
	msg := method + ":fail " + detail
	return &control.Error{Code: code, Message: msg, Data: errorData{ErrCode: code, ErrMsg: msg, Reason: reason}}
}

func rtcError(method string, code, errNo int, reason, detail string) *control.Error {
	msg := method + ":fail " + detail
	return &control.Error{Code: code, Message: msg, Data: errorData{ErrCode: code, ErrNo: &errNo, ErrMsg: msg, Reason: reason}}
}
