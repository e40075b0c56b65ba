package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/daemon/session"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/room"
)

// The fakes FuzzServeRPC's daemons are built from. Devices open (so a join
// gets as far as the room), the room server is never reached, and a camera
// is listed but does not open: every method runs its params' checks, its
// scopes and the engine's state machine, and fails where a device or the
// network would be needed, without either.

type fuzzDevice struct{ id string }

func (d fuzzDevice) Read([]int16) error {
	return &hw.DeviceError{Op: "read", Device: d.id, Kind: hw.ErrClosed}
}

// Write fails at once: a ring tone written to it stops.
func (d fuzzDevice) Write([]int16) error {
	return &hw.DeviceError{Op: "write", Device: d.id, Kind: hw.ErrClosed}
}

func (d fuzzDevice) Info() hw.DeviceInfo {
	return hw.DeviceInfo{ID: d.id, Name: "fuzz " + d.id, Backend: "fuzz"}
}
func (d fuzzDevice) Close() error { return nil }

type fuzzAudio struct{}

func (fuzzAudio) OpenCapture(id string) (hw.Capture, error)   { return fuzzDevice{id}, nil }
func (fuzzAudio) OpenPlayback(id string) (hw.Playback, error) { return fuzzDevice{id}, nil }
func (fuzzAudio) Devices() ([]hw.DeviceInfo, []hw.DeviceInfo, error) {
	return []hw.DeviceInfo{{ID: "mic", Name: "fuzz mic", Backend: "fuzz", Default: true}}, nil, nil
}

type fuzzCameras struct{}

func (fuzzCameras) Cameras() ([]hw.CameraInfo, error) {
	return []hw.CameraInfo{{ID: "cam", Name: "fuzz camera"}}, nil
}

func (fuzzCameras) OpenCamera(id string, _ hw.CameraRequest) (hw.Camera, error) {
	return nil, &hw.DeviceError{Op: "open camera", Device: id, Kind: hw.ErrBusy}
}

// fuzzRooms is a room server that cannot be reached.
type fuzzRooms struct{}

var errNoRoomServer = &room.Error{Reason: "unreachable", Msg: "fuzz: no room server"}

func (fuzzRooms) Join(context.Context, room.JoinParams, session.Handler) (session.Room, error) {
	return nil, errNoRoomServer
}

func (fuzzRooms) JoinRTC(context.Context, room.RTCJoinParams, session.Handler) (session.Room, error) {
	return nil, errNoRoomServer
}

func (fuzzRooms) Call(context.Context, room.CallParams) (*room.CallTicket, error) {
	return nil, errNoRoomServer
}

func (fuzzRooms) JoinCall(context.Context, *room.CallTicket, string, session.Handler) (session.Room, error) {
	return nil, errNoRoomServer
}

func (fuzzRooms) Register(context.Context, room.PresenceParams, room.CallHandler) (session.Presence, error) {
	return nil, errNoRoomServer
}

// fuzzDaemon is a daemon of the fakes above. restricted grants
// scope.record to uid 1000 and gid 29 only, scope.camera to uid 1000.
func fuzzDaemon(restricted bool) *Daemon {
	cfg := config.Default()
	if restricted {
		cfg.Scopes = config.Scopes{Record: []string{"uid:1000", "gid:29"}, Camera: []string{"uid:1000"}}
	}
	return New(Params{Config: cfg, Logger: slog.New(slog.DiscardHandler),
		Session: session.Params{Audio: fuzzAudio{}, Cameras: fuzzCameras{}, Rooms: fuzzRooms{}}})
}

// FuzzServeRPC sends a method and its params, as a control client's line
// carries them, through the daemon's request handling (ServeRPC: the
// table, the params' decoding and checks, the scopes, the engine), after
// createRtcRoomContext when the fuzzer says so, from a client whose uid
// it chooses. Nothing may panic. A success is the method's result with
// errCode 0 and "<method>:ok"; a failure is an unknown method's
// ErrMethodNotFound or a *control.Error with a code, a message and data
// that marshal to {errCode: code, errMsg: message, ...}, never a plain
// error (which the control server would answer as -32603, internal).
// Every call returns with the engine idle again: a failed join leaves
// nothing behind.
func FuzzServeRPC(f *testing.F) {
	for _, s := range []struct {
		method, params string
	}{
		{"joinVoIPChat", `{"groupId":"lobby","signature":"0a1b","nonceStr":"8AP6DT9ybtniUJfb","timeStamp":1763880000,"muteConfig":{"muteMicrophone":true}}`},
		{"joinVoIPChat", `{"groupId":"lobby","signature":"s","nonceStr":"n","timeStamp":1,"roomType":"video"}`},
		{"joinVoIPChat", `{"groupId":"","signature":"s","nonceStr":"n","timeStamp":"1"}`},
		{"joinVoIPChat", `{"groupId":"g","signature":"s","nonceStr":"n","timeStamp":1e400}`},
		{"exitVoIPChat", ``},
		{"updateVoIPChatMuteConfig", `{"muteConfig":{"muteMicrophone":true,"muteEarphone":false}}`},
		{"updateVoIPChatMuteConfig", `{"muteConfig":null}`},
		{"subscribeVoIPVideoMembers", `{"openIdList":["browser-7f3a","door-2"]}`},
		{"subscribeVoIPVideoMembers", `{"openIdList":[1]}`},
		{"status", `null`}, {"listDevices", `[]`}, {"getStats", `{"x":1}`},
		{"setVolume", `{"playback":0.5,"capture":1}`}, {"setVolume", `{"playback":-0}`}, {"setVolume", `{"capture":"loud"}`},
		{"getVolume", ``},
		{"setEnable1v1Chat", `{"enable":true}`}, {"setEnable1v1Chat", `{"enable":false}`},
		{"join1v1Chat", `{"caller":{"nickname":"Door","openid":"door-1"},"listener":{"nickname":"Desk","openid":"desk-1"},"roomType":"voice"}`},
		{"join1v1Chat", `{"caller":{"nickname":"Door","openid":"door-1"},"listener":{"nickname":"Desk","openid":"desk-1"},"backgroundType":[],"minWindowType":{}}`},
		{"join1v1Chat", `{"caller":{"nickname":"Door","openid":"door-1"},"listener":{"nickname":"Me","openid":"door-1"}}`},
		{"join1v1Chat", `{"caller":"door-1"}`},
		{"answer1v1Chat", `{"callId":"c1","accept":true}`},
		{"switch1v1Chat", `{"roomType":"video"}`},
		{"createRtcRoomContext", `{"appId":"5f2a1b3c4d5e6f7081920a1b"}`},
		{"joinRtcRoom", `{"roomId":"r1","token":"001x","userId":"u1","roomConfig":{"autoPublish":false,"autoSubscribe":true}}`},
		{"exitRtcRoom", `{"roomId":"r1"}`},
		{"switchCamera", ``},
		{"changeVideoCapture", `{"state":1}`}, {"changeAudioCapture", `{"state":2}`}, {"changeSubscribeState", `{"state":0}`},
		{"destroyRtcRoomContext", ``},
		{"subscribe", `{"events":["*"]}`}, // control's own: not the daemon's
		{"noSuchMethod", `{}`},
		{"", `{`},
	} {
		for _, ctx := range []bool{false, true} {
			f.Add(s.method, []byte(s.params), ctx, false, uint32(1000))
		}
	}
	f.Add("joinVoIPChat", []byte(`{"groupId":"g","signature":"s","nonceStr":"n","timeStamp":1,"roomType":"video"}`), false, true, uint32(33))
	f.Add("joinRtcRoom", []byte(`{"roomId":"r","token":"t","userId":"u"}`), true, true, uint32(0))
	f.Fuzz(func(t *testing.T, method string, params []byte, withContext, restricted bool, uid uint32) {
		d := fuzzDaemon(restricted)
		defer d.Shutdown(context.Background())
		peer := control.Peer{UID: uid, GID: uid % 64}
		if withContext {
			if _, err := d.ServeRPC(context.Background(), &control.Request{Method: "createRtcRoomContext",
				Params: json.RawMessage(`{"appId":"5f2a1b3c4d5e6f7081920a1b"}`), Peer: peer, ClientID: 1}); err != nil {
				t.Fatalf("createRtcRoomContext: %v", err)
			}
		}
		var raw json.RawMessage
		if len(params) > 0 {
			raw = params
		}
		res, err := d.ServeRPC(context.Background(), &control.Request{ID: json.RawMessage("1"), Method: method, Params: raw, Peer: peer, ClientID: 1})
		if st := d.engine.State(); st != session.Idle {
			t.Fatalf("%s %s left the engine %s", method, params, st)
		}
		if err == nil {
			b, merr := json.Marshal(res)
			var ok struct {
				ErrCode *int   `json:"errCode"`
				ErrMsg  string `json:"errMsg"`
			}
			if merr != nil || json.Unmarshal(b, &ok) != nil || ok.ErrCode == nil || *ok.ErrCode != 0 || ok.ErrMsg != method+":ok" {
				t.Fatalf("%s %s: result %s (%v) is not errCode 0, %q", method, params, b, merr, method+":ok")
			}
			return
		}
		if _, known := methods[method]; !known {
			if !errors.Is(err, control.ErrMethodNotFound) {
				t.Fatalf("unknown method %q: %v, want ErrMethodNotFound", method, err)
			}
			return
		}
		var ce *control.Error
		if !errors.As(err, &ce) {
			t.Fatalf("%s %s: %T %v is not a control error", method, params, err, err)
		}
		if ce.Code == 0 || ce.Message == "" {
			t.Fatalf("%s %s: error without a code or message: %+v", method, params, ce)
		}
		if ce.Data == nil {
			// control fills in the data; only its own errors (invalid
			// params) come without.
			if ce.Code != control.CodeInvalidParams || !strings.HasPrefix(ce.Message, "invalid params: ") {
				t.Fatalf("%s %s: %d %q without data", method, params, ce.Code, ce.Message)
			}
			return
		}
		b, merr := json.Marshal(ce.Data)
		var data struct {
			ErrCode *int   `json:"errCode"`
			ErrMsg  string `json:"errMsg"`
			Reason  string `json:"reason"`
		}
		if merr != nil || json.Unmarshal(b, &data) != nil || data.ErrCode == nil || *data.ErrCode != ce.Code || data.ErrMsg != ce.Message || data.Reason == "" {
			t.Fatalf("%s %s: error %d %q with data %s (%v)", method, params, ce.Code, ce.Message, b, merr)
		}
		if !strings.HasPrefix(ce.Message, method+":fail ") {
			t.Fatalf("%s %s: message %q does not start %q", method, params, ce.Message, method+":fail ")
		}
	})
}
