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
)

// TestTypedResults: the table's handlers answer typed results completed
// with errCode 0 and "<method>:ok" ahead of their fields; params are
// decoded and checked before a handler runs, and a failure answers with
// the method's family's code.
func TestTypedResults(t *testing.T) {
	d := New(Params{Config: config.Default(), Logger: slog.New(slog.DiscardHandler)})
	call := func(method, params string) (string, error) {
		res, err := d.ServeRPC(context.Background(), &control.Request{Method: method, Params: json.RawMessage(params)})
		if err != nil {
			return "", err
		}
		b, err := json.Marshal(res)
		return string(b), err
	}
	for _, tc := range []struct{ method, params, want string }{
		{"getVolume", ``, `{"errCode":0,"errMsg":"getVolume:ok","playback":1,"capture":1}`},
		{"setVolume", `{"playback":0.5}`, `{"errCode":0,"errMsg":"setVolume:ok","playback":0.5,"capture":1}`},
		{"createRtcRoomContext", `{"appId":"a"}`, `{"errCode":0,"errMsg":"createRtcRoomContext:ok"}`},
		{"getStats", `[1,2]`, `{"errCode":0,"errMsg":"getStats:ok","outbound":[],"inbound":[]}`}, // params of a method without any are not read
	} {
		got, err := call(tc.method, tc.params)
		if err != nil || got != tc.want {
			t.Errorf("%s %s = %s, %v; want %s", tc.method, tc.params, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		method, params string
		code           int
		field          string
	}{
		{"setVolume", `{"playback":2}`, control.CodeInvalidParams, "playback"},
		{"setVolume", `{"capture":"loud"}`, control.CodeInvalidParams, "capture"},
		{"joinVoIPChat", `{"signature":"s","nonceStr":"n","timeStamp":1}`, control.CodeInvalidParams, "groupId"},
		{"joinRtcRoom", `{"roomId":"r","userId":"u"}`, rtcParams, ""},
		{"exitVoIPChat", ``, codeOther, ""},
		{"exitRtcRoom", `{"roomId":"r"}`, rtcJoinFailed, ""}, // the context exists (created above), the room not
	} {
		_, err := call(tc.method, tc.params)
		var ce *control.Error
		if !errors.As(err, &ce) || ce.Code != tc.code {
			t.Errorf("%s %s = %v, want code %d", tc.method, tc.params, err, tc.code)
			continue
		}
		if tc.field != "" && !strings.Contains(ce.Message, tc.field) {
			t.Errorf("%s: %q does not name %s", tc.method, ce.Message, tc.field)
		}
	}
}

// TestParamErrorsSpeakJSON: a param of the wrong JSON type is refused
// naming the field and the JSON expected and found, never a Go type.
func TestParamErrorsSpeakJSON(t *testing.T) {
	d := New(Params{Config: config.Default(), Logger: slog.New(slog.DiscardHandler)})
	for _, tc := range []struct{ method, params, want string }{
		{"joinVoIPChat", `{"groupId":5}`, "groupId: must be a string, not a number"},
		{"joinVoIPChat", `[1]`, "params: must be an object, not an array"},
		{"joinVoIPChat", `{"groupId":"g","timeStamp":"soon"}`, "timeStamp: must be an integer, not a string"},
		{"joinVoIPChat", `{"groupId":"g","muteConfig":true}`, "muteConfig: must be an object, not true or false"},
		{"setVolume", `{"capture":"loud"}`, "capture: must be a number, not a string"},
	} {
		_, err := d.ServeRPC(context.Background(), &control.Request{Method: tc.method, Params: json.RawMessage(tc.params)})
		var ce *control.Error
		if !errors.As(err, &ce) || ce.Code != control.CodeInvalidParams || !strings.Contains(ce.Message, tc.want) {
			t.Errorf("%s %s = %v, want -32602 %q", tc.method, tc.params, err, tc.want)
			continue
		}
		for _, goName := range []string{"float64", "int64", "daemon.", "struct", "[]"} {
			if strings.Contains(ce.Message, goName) {
				t.Errorf("%s %s: %q shows a Go type", tc.method, tc.params, ce.Message)
			}
		}
	}
}
