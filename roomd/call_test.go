package roomd

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voipd/voipd/proto"
)

func registerMsg(openid string) *proto.Message {
	sg := Sign(testApp, openid, proto.PresenceGroup(openid), time.Now())
	return &proto.Message{Type: proto.TypeRegister, AppID: sg.AppID, OpenID: openid, NonceStr: sg.NonceStr,
		TimeStamp: sg.TimeStamp, Signature: sg.Signature}
}

func callMsg(caller, listener string, ringMs int64) *proto.Message {
	sg := Sign(testApp, caller, proto.CallGroup(listener), time.Now())
	return &proto.Message{Type: proto.TypeCall, AppID: sg.AppID, NonceStr: sg.NonceStr, TimeStamp: sg.TimeStamp,
		Signature: sg.Signature, CallFields: proto.CallFields{Caller: &proto.Party{OpenID: caller},
			Listener: &proto.Party{OpenID: listener}, RingTimeoutMs: ringMs}}
}

// next reads the next message of a raw connection.
func next(t *testing.T, c *websocket.Conn) *proto.Message {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("no message: %v", err)
	}
	m, err := proto.Decode(b)
	if err != nil {
		t.Fatalf("bad message %s: %v", b, err)
	}
	return m
}

func expect(t *testing.T, m *proto.Message, typ, reason string) {
	t.Helper()
	if m.Type != typ || m.Reason != reason {
		t.Fatalf("got %+v, want %s %q", m, typ, reason)
	}
}

// The first messages of call sockets are authenticated, and group rooms
// stay out of the call rooms' ids.
func TestCallFirstMessages(t *testing.T) {
	s := startTest(t, Config{})
	wrongKey := registerMsg("mallory")
	wrongKey.OpenID = "bob"
	forgedCall := callMsg("mallory", "bob", 0)
	forgedCall.Caller.OpenID = "alice"
	for _, tc := range []struct {
		name   string
		msg    *proto.Message
		typ    string
		reason string
	}{
		{"register", registerMsg("bob"), proto.TypeRegistered, ""},
		{"register with another's key", wrongKey, proto.TypeError, proto.ReasonSignature},
		{"call signed by another", forgedCall, proto.TypeError, proto.ReasonSignature},
		{"call to an unregistered openid", callMsg("alice", "nobody", 0), proto.TypeError, proto.ReasonOffline},
		{"group join into a call room's id", joinMsg(testApp, "a", "1v1:abc", time.Now()), proto.TypeError, proto.ReasonParams},
		{"1v1 join with an unknown ticket", &proto.Message{Type: proto.TypeJoin, Kind: proto.Kind1v1, AppID: testApp.ID,
			OpenID: "a", CallFields: proto.CallFields{RoomID: "1v1:abc", Ticket: "t"}}, proto.TypeError, proto.ReasonTicket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := rawJoin(t, s, tc.msg)
			expect(t, got, tc.typ, tc.reason)
		})
	}
}

// Tickets expire; an answer from someone who is not the listener finds no
// call; a caller's socket carries ringing then accepted and closes.
func TestCallTicketsExpire(t *testing.T) {
	s := startTest(t, Config{CallTicketTTL: time.Millisecond})
	got, bob := rawJoin(t, s, registerMsg("bob"))
	expect(t, got, proto.TypeRegistered, "")
	got, carol := rawJoin(t, s, registerMsg("carol"))
	expect(t, got, proto.TypeRegistered, "")
	got, alice := rawJoin(t, s, callMsg("alice", "bob", 0))
	expect(t, got, proto.TypeRinging, "")
	inv := next(t, bob)
	if inv.Type != proto.TypeInvite || inv.CallID != got.CallID || inv.Caller.OpenID != "alice" || inv.RoomType != proto.RoomVoice {
		t.Fatalf("invite %+v", inv)
	}
	yes := true
	carol.WriteJSON(&proto.Message{Type: proto.TypeCallAnswer, CallFields: proto.CallFields{CallID: inv.CallID, Accept: &yes}})
	expect(t, next(t, carol), proto.TypeCallEnded, proto.ReasonNotFound)

	bob.WriteJSON(&proto.Message{Type: proto.TypeCallAnswer, CallFields: proto.CallFields{CallID: inv.CallID, Accept: &yes}})
	acc := next(t, bob)
	expect(t, acc, proto.TypeAccepted, "")
	expect(t, next(t, alice), proto.TypeAccepted, "")
	alice.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := alice.ReadMessage(); err == nil {
		t.Fatal("the caller's socket stayed open after accepted")
	}
	time.Sleep(5 * time.Millisecond) // past the 1 ms ticket life
	got, _ = rawJoin(t, s, &proto.Message{Type: proto.TypeJoin, Kind: proto.Kind1v1, AppID: testApp.ID,
		OpenID: "bob", CallFields: proto.CallFields{RoomID: acc.RoomID, Ticket: acc.Ticket}})
	expect(t, got, proto.TypeError, proto.ReasonTicket)
	// An expired ticket no longer makes its holder busy.
	got, _ = rawJoin(t, s, callMsg("dave", "bob", 0))
	expect(t, got, proto.TypeRinging, "")
}

func TestNewValidatesCallSettings(t *testing.T) {
	for _, cfg := range []Config{{MaxRingTimeout: -time.Second}, {CallTicketTTL: -time.Second}} {
		cfg.Listen, cfg.Apps = "127.0.0.1:0", []App{testApp}
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("New(%+v) = %v, want a negative-duration error", cfg, err)
		}
	}
}
