package daemon

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/daemon/session"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/room"
)

func TestSeedErrorTable(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		code   int
		reason string
	}{
		{"in room", session.Fail(session.ErrInRoom, "busy", "already in room g"), -1, "busy"},
		{"capture busy", &hw.DeviceError{Op: "open capture", Device: "default", Kind: hw.ErrBusy}, -2, "busy"},
		{"capture busy wrapped", fmt.Errorf("open: %w", &hw.DeviceError{Kind: hw.ErrBusy}), -2, "busy"},
		{"capture absent", &hw.DeviceError{Kind: hw.ErrAbsent}, -1000, "absent"},
		{"capture denied", &hw.DeviceError{Kind: hw.ErrPermission}, -1000, "permission"},
		{"exit while joining", &session.Error{Kind: session.ErrExited, Reason: "interrupted", Detail: "join interrupted", Cause: session.ErrExitWhileJoining}, -3, "interrupted"},
		{"shutdown", &session.Error{Kind: session.ErrExited, Reason: "interrupted", Detail: "join interrupted", Cause: session.ErrShutdown}, -3, "interrupted"},
		{"room signature", &room.Error{Reason: "signature", Msg: "bad signature"}, -1000, "signature"},
		{"room timeout", &room.Error{Reason: "timeout", Msg: "no answer"}, -1000, "timeout"},
		{"room unreachable", &room.Error{Reason: "unreachable", Msg: "refused"}, -1000, "unreachable"},
		{"room full", &room.Error{Reason: "room_full", Msg: "full"}, -1000, "room_full"},
		{"not in room", session.Fail(session.ErrSystem, session.ReasonNotInRoom, "not in a room"), -1000, "not_in_room"},
		{"scope", session.Fail(session.ErrSystem, session.ReasonScope, "lacks scope.record"), -1000, "scope"},
		{"anything else", errors.New("boom"), -1000, "internal"},
		{"cancelled", context.Canceled, -3, "interrupted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := seedError(famGroup, "joinVoIPChat", c.err)
			data := e.Data.(errorData)
			if e.Code != c.code || data.ErrCode != c.code || data.Reason != c.reason || data.ErrNo != nil {
				t.Fatalf("got code %d data %+v, want %d %s", e.Code, data, c.code, c.reason)
			}
			if want := "joinVoIPChat:fail "; len(e.Message) < len(want) || e.Message[:len(want)] != want || data.ErrMsg != e.Message {
				t.Fatalf("message %q / errMsg %v", e.Message, data.ErrMsg)
			}
		})
	}
}

func TestSeedErrorKeepsJSONRPCErrors(t *testing.T) {
	in := control.InvalidParams("groupId", "is required")
	if got := seedError(famGroup, "joinVoIPChat", in); got != in {
		t.Fatalf("a -32602 error was remapped to %+v", got)
	}
}

func TestSeedErrorFamilies(t *testing.T) {
	dev := func(device string, kind error) *session.Error {
		return &session.Error{Kind: session.ErrDevice, Device: device, Reason: session.DeviceReason(kind), Detail: device, Cause: &hw.DeviceError{Kind: kind}}
	}
	micDenied, camDenied := dev("microphone", hw.ErrPermission), dev("camera", hw.ErrPermission)
	camBusy, spkBusy := dev("camera", hw.ErrBusy), dev("speaker", hw.ErrBusy)
	scope := func(s string) *session.Error {
		f := session.Fail(session.ErrSystem, session.ReasonScope, "lacks %s", s)
		f.Scope = s
		return f
	}
	cases := []struct {
		method string
		err    error
		code   int
		errNo  int // RTC only
	}{
		{"joinVoIPChat", camBusy, -2, 0},
		{"joinVoIPChat", spkBusy, -1000, 0},
		{"join1v1Chat", micDenied, -30002, 0},
		{"join1v1Chat", camDenied, -30001, 0},
		{"join1v1Chat", camBusy, -2, 0},
		{"join1v1Chat", scope("scope.record"), -30003, 0},
		{"join1v1Chat", scope("scope.camera"), -30004, 0},
		{"join1v1Chat", session.Fail(session.ErrInCall, "busy", "x"), -20002, 0},
		{"join1v1Chat", session.Fail(session.ErrCallHeld, "busy", "x"), -20003, 0},
		{"join1v1Chat", session.Fail(session.ErrCallOff, "disabled", "x"), -20000, 0},
		{"join1v1Chat", session.Fail(session.ErrNoDevice, "absent", "x"), -20001, 0},
		{"join1v1Chat", session.Fail(session.ErrInRoom, "busy", "x"), -1, 0},
		{"join1v1Chat", &room.Error{Reason: "declined"}, -20010, 0},
		{"join1v1Chat", &room.Error{Reason: "no_answer"}, -20011, 0},
		{"join1v1Chat", &room.Error{Reason: "offline"}, -20012, 0},
		{"join1v1Chat", &room.Error{Reason: "listener_busy"}, -20013, 0},
		{"join1v1Chat", &room.Error{Reason: "timeout"}, -1000, 0},
		{"join1v1Chat", errors.New("boom"), -30000, 0},
		{"joinRtcRoom", control.InvalidParams("token", "is required"), 115999, 20000},
		{"joinRtcRoom", session.Fail(session.ErrInRoom, "busy", "user u is already in the room r"), 115901, 21100},
		{"joinRtcRoom", &room.Error{Reason: "token_invalid"}, 115902, 21101},
		{"joinRtcRoom", &room.Error{Reason: "token_expired"}, 115902, 21101},
		{"joinRtcRoom", session.Fail(session.ErrDestroyed, "disabled", "destroyed"), 115910, 115910},
		{"joinRtcRoom", scope("scope.record"), 10200, 10200},
		{"joinRtcRoom", micDenied, 115990, 115990},
		{"joinRtcRoom", &room.Error{Reason: "unreachable"}, 115903, 21102},
	}
	for _, c := range cases {
		m, ok := methods[c.method]
		if !ok {
			t.Fatalf("%s is not in the methods table", c.method)
		}
		e := seedError(m.family, c.method, c.err)
		data := e.Data.(errorData)
		if e.Code != c.code || data.ErrCode != c.code {
			t.Errorf("%s %v: code %d, want %d", c.method, c.err, e.Code, c.code)
		}
		if c.errNo != 0 && (data.ErrNo == nil || *data.ErrNo != c.errNo) {
			t.Errorf("%s %v: errNo %v, want %d", c.method, c.err, data.ErrNo, c.errNo)
		}
	}
}
