package daemon

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/voipd/voipd/daemon/control"
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
		{"in room", fail(kindInRoom, "busy", "already in room g"), -1, "busy"},
		{"capture busy", &hw.DeviceError{Op: "open capture", Device: "default", Kind: hw.ErrBusy}, -2, "busy"},
		{"capture busy wrapped", fmt.Errorf("open: %w", &hw.DeviceError{Kind: hw.ErrBusy}), -2, "busy"},
		{"capture absent", &hw.DeviceError{Kind: hw.ErrAbsent}, -1000, "absent"},
		{"capture denied", &hw.DeviceError{Kind: hw.ErrPermission}, -1000, "permission"},
		{"exit while joining", &failure{kind: kindExited, reason: "interrupted", detail: "join interrupted", cause: errExitWhileJoining}, -3, "interrupted"},
		{"shutdown cause", fmt.Errorf("x: %w", errShutdown), -3, "interrupted"},
		{"room signature", &room.Error{Reason: "signature", Msg: "bad signature"}, -1000, "signature"},
		{"room timeout", &room.Error{Reason: "timeout", Msg: "no answer"}, -1000, "timeout"},
		{"room unreachable", &room.Error{Reason: "unreachable", Msg: "refused"}, -1000, "unreachable"},
		{"room full", &room.Error{Reason: "room_full", Msg: "full"}, -1000, "room_full"},
		{"not in room", fail(kindSystem, reasonNotInRoom, "not in a room"), -1000, "not_in_room"},
		{"scope", fail(kindSystem, reasonScope, "lacks scope.record"), -1000, "scope"},
		{"anything else", errors.New("boom"), -1000, "internal"},
		{"cancelled", context.Canceled, -3, "interrupted"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := seedError("joinVoIPChat", c.err)
			data := e.Data.(map[string]any)
			if e.Code != c.code || data["errCode"] != c.code || data["reason"] != c.reason {
				t.Fatalf("got code %d data %v, want %d %s", e.Code, data, c.code, c.reason)
			}
			if want := "joinVoIPChat:fail "; len(e.Message) < len(want) || e.Message[:len(want)] != want || data["errMsg"] != e.Message {
				t.Fatalf("message %q / errMsg %v", e.Message, data["errMsg"])
			}
		})
	}
}

func TestSeedErrorKeepsJSONRPCErrors(t *testing.T) {
	in := control.InvalidParams("groupId", "is required")
	if got := seedError("joinVoIPChat", in); got != in {
		t.Fatalf("a -32602 error was remapped to %+v", got)
	}
}

func TestOKShape(t *testing.T) {
	r := ok("status", map[string]any{"state": "idle"})
	if r["errCode"] != 0 || r["errMsg"] != "status:ok" || r["state"] != "idle" {
		t.Fatalf("%v", r)
	}
}

func TestSeedErrorFamilies(t *testing.T) {
	micDenied := &failure{kind: kindDevice, device: "microphone", reason: reasonPermission, detail: "microphone", cause: &hw.DeviceError{Kind: hw.ErrPermission}}
	camDenied := &failure{kind: kindDevice, device: "camera", reason: reasonPermission, detail: "camera", cause: &hw.DeviceError{Kind: hw.ErrPermission}}
	camBusy := &failure{kind: kindDevice, device: "camera", reason: reasonBusy, detail: "camera", cause: &hw.DeviceError{Kind: hw.ErrBusy}}
	spkBusy := &failure{kind: kindDevice, device: "speaker", reason: reasonBusy, detail: "speaker", cause: &hw.DeviceError{Kind: hw.ErrBusy}}
	scope := func(s string) *failure { f := fail(kindSystem, reasonScope, "lacks %s", s); f.scope = s; return f }
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
		{"join1v1Chat", fail(kindInCall, "busy", "x"), -20002, 0},
		{"join1v1Chat", fail(kindCallHeld, "busy", "x"), -20003, 0},
		{"join1v1Chat", fail(kindCallOff, "disabled", "x"), -20000, 0},
		{"join1v1Chat", fail(kindNoDevice, "absent", "x"), -20001, 0},
		{"join1v1Chat", fail(kindInRoom, "busy", "x"), -1, 0},
		{"join1v1Chat", &room.Error{Reason: "declined"}, -20010, 0},
		{"join1v1Chat", &room.Error{Reason: "no_answer"}, -20011, 0},
		{"join1v1Chat", &room.Error{Reason: "offline"}, -20012, 0},
		{"join1v1Chat", &room.Error{Reason: "listener_busy"}, -20013, 0},
		{"join1v1Chat", &room.Error{Reason: "timeout"}, -1000, 0},
		{"join1v1Chat", errors.New("boom"), -30000, 0},
		{"joinRtcRoom", control.InvalidParams("token", "is required"), 115999, 20000},
		{"joinRtcRoom", fail(kindInRoom, "busy", "user u is already in the room r"), 115901, 21100},
		{"joinRtcRoom", &room.Error{Reason: "token_invalid"}, 115902, 21101},
		{"joinRtcRoom", &room.Error{Reason: "token_expired"}, 115902, 21101},
		{"joinRtcRoom", fail(kindDestroyed, "disabled", "destroyed"), 115910, 115910},
		{"joinRtcRoom", scope("scope.record"), 10200, 10200},
		{"joinRtcRoom", micDenied, 115990, 115990},
		{"joinRtcRoom", &room.Error{Reason: "unreachable"}, 115903, 21102},
	}
	for _, c := range cases {
		e := seedError(c.method, c.err)
		data := e.Data.(map[string]any)
		if e.Code != c.code || data["errCode"] != c.code {
			t.Errorf("%s %v: code %d, want %d", c.method, c.err, e.Code, c.code)
		}
		if c.errNo != 0 && data["errNo"] != c.errNo {
			t.Errorf("%s %v: errNo %v, want %d", c.method, c.err, data["errNo"], c.errNo)
		}
	}
}
