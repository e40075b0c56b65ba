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
