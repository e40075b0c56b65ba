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
