package roomd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voipd/voipd/proto"
)

var testApp = App{ID: "wx20afc706a711eefc", Secret: "test-secret"}

func startTest(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	if cfg.Apps == nil {
		cfg.Apps = []App{testApp}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func joinMsg(app App, openid, group string, now time.Time) *proto.Message {
	sg := Sign(app, openid, group, now)
	return &proto.Message{Type: proto.TypeJoin, Kind: proto.KindVoIP, AppID: sg.AppID, OpenID: sg.OpenID,
		GroupID: sg.GroupID, NonceStr: sg.NonceStr, TimeStamp: sg.TimeStamp, Signature: sg.Signature}
}

// rawJoin sends msg (a *proto.Message or raw bytes) on a new WebSocket and
// returns the first message the server answers with, and the connection.
func rawJoin(t *testing.T, s *Server, msg any) (*proto.Message, *websocket.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	b, ok := msg.([]byte)
	if !ok {
		b, _ = json.Marshal(msg)
	}
	if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, reply, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("no answer to join: %v", err)
	}
	m, err := proto.Decode(reply)
	if err != nil {
		t.Fatalf("bad answer %s: %v", reply, err)
	}
	return m, c
}

func TestJoinAuth(t *testing.T) {
	s := startTest(t, Config{MaxMembers: 3, TimestampWindow: time.Minute})
	now := time.Now()
	replayed := joinMsg(testApp, "r", "replay", now)
	tests := []struct {
		name   string
		msg    any
		reason string // "" = joined
		detail string // must appear in the error message
	}{
		{"good", joinMsg(testApp, "a", "g", now), "", ""},
		{"bad signature", func() *proto.Message {
			m := joinMsg(testApp, "a", "g", now)
			m.Signature = strings.Repeat("0", 64)
			return m
		}(), proto.ReasonSignature, ""},
		{"signed by another member's key", func() *proto.Message { m := joinMsg(testApp, "a", "g", now); m.OpenID = "b"; return m }(), proto.ReasonSignature, ""},
		{"unknown app", joinMsg(App{ID: "wxother", Secret: "x"}, "a", "g", now), proto.ReasonSignature, "appId"},
		{"too old", joinMsg(testApp, "a", "g", now.Add(-2*time.Minute)), proto.ReasonTimestamp, ""},
		{"too new", joinMsg(testApp, "a", "g", now.Add(2*time.Minute)), proto.ReasonTimestamp, ""},
		{"first use", replayed, "", ""},
		{"replayed nonce", replayed, proto.ReasonReplay, ""},
		{"missing openid", func() *proto.Message { m := joinMsg(testApp, "a", "g", now); m.OpenID = ""; return m }(), proto.ReasonParams, "openid"},
		{"missing signature", func() *proto.Message { m := joinMsg(testApp, "a", "g", now); m.Signature = ""; return m }(), proto.ReasonParams, "signature"},
		{"not a join", &proto.Message{Type: proto.TypePing}, proto.ReasonParams, "join"},
		{"not JSON", []byte("{"), proto.ReasonParams, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := rawJoin(t, s, tc.msg)
			if tc.reason == "" {
				if got.Type != proto.TypeJoined {
					t.Fatalf("got %+v, want joined", got)
				}
				return
			}
			if got.Type != proto.TypeError || got.Reason != tc.reason {
				t.Fatalf("got %+v, want error %s", got, tc.reason)
			}
			if !strings.Contains(got.Message, tc.detail) {
				t.Fatalf("message %q does not name %q", got.Message, tc.detail)
			}
		})
	}
}

// A room holds MaxMembers; the next is refused with room_full, and a place
// freed by a leave can be taken again.
func TestRoomFull(t *testing.T) {
	s := startTest(t, Config{}) // the default: 10
	var conns []*websocket.Conn
	for i := range 10 {
		m, c := rawJoin(t, s, joinMsg(testApp, "m"+string(rune('a'+i)), "full", time.Now()))
		if m.Type != proto.TypeJoined {
			t.Fatalf("member %d: got %+v", i, m)
		}
		conns = append(conns, c)
	}
	m, _ := rawJoin(t, s, joinMsg(testApp, "eleventh", "full", time.Now()))
	if m.Type != proto.TypeError || m.Reason != proto.ReasonRoomFull {
		t.Fatalf("11th member got %+v, want room_full", m)
	}
	// Another room is not affected.
	if m, _ := rawJoin(t, s, joinMsg(testApp, "eleventh", "other", time.Now())); m.Type != proto.TypeJoined {
		t.Fatalf("join to another room got %+v", m)
	}
	conns[0].WriteJSON(&proto.Message{Type: proto.TypeLeave})
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, _ := rawJoin(t, s, joinMsg(testApp, "eleventh", "full", time.Now()))
		if m.Type == proto.TypeJoined {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("place not freed after leave: %+v", m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNonceTablePrunes(t *testing.T) {
	mem := newMemNonces()
	a := newAuthority([]App{testApp}, time.Minute, mem)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 100 {
		if rej := a.check(joinMsg(testApp, "a", "g", t0), t0.Add(time.Duration(i)*500*time.Millisecond)); rej != nil {
			t.Fatal(rej)
		}
	}
	m := joinMsg(testApp, "a", "g", t0.Add(10*time.Minute))
	if rej := a.check(m, t0.Add(10*time.Minute)); rej != nil {
		t.Fatal(rej)
	}
	if len(mem.nonces) != 1 || len(mem.order) != 1 {
		t.Fatalf("nonce table holds %d/%d entries after the window, want 1", len(mem.nonces), len(mem.order))
	}
	// Still refused while its timeStamp is acceptable.
	if rej := a.check(m, t0.Add(10*time.Minute+50*time.Second)); rej == nil || rej.reason != proto.ReasonReplay {
		t.Fatalf("replay within the window: %v", rej)
	}
}
