package roomd

import (
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd/token"
)

func TestRTCDefaults(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        Config
		members   int
		pubs      int
		warn      time.Duration
		wantError bool
	}{
		{"defaults", Config{}, 50, 30, 30 * time.Second, false},
		{"small room caps the publishers", Config{RTCMaxMembers: 4}, 4, 4, 30 * time.Second, false},
		{"set", Config{RTCMaxMembers: 10, RTCMaxPublishers: 2, RTCTokenWarning: time.Second}, 10, 2, time.Second, false},
		{"negative members", Config{RTCMaxMembers: -1}, 0, 0, 0, true},
		{"negative publishers", Config{RTCMaxPublishers: -1}, 0, 0, 0, true},
		{"negative warning", Config{RTCTokenWarning: -time.Second}, 0, 0, 0, true},
	} {
		cfg := tc.in
		err := rtcDefaults(&cfg)
		if (err != nil) != tc.wantError {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if err == nil && (cfg.RTCMaxMembers != tc.members || cfg.RTCMaxPublishers != tc.pubs || cfg.RTCTokenWarning != tc.warn) {
			t.Errorf("%s: got %d/%d/%v, want %d/%d/%v", tc.name, cfg.RTCMaxMembers, cfg.RTCMaxPublishers,
				cfg.RTCTokenWarning, tc.members, tc.pubs, tc.warn)
		}
	}
}

// The right to publish ends with the last publish privilege, or the token.
func TestPublishDeadline(t *testing.T) {
	mk := func(expire uint32, privs map[token.Privilege]uint32) *token.Token {
		return &token.Token{ExpireAt: expire, Privileges: privs}
	}
	for _, tc := range []struct {
		name string
		tok  *token.Token
		want int64
	}{
		{"never", mk(0, map[token.Privilege]uint32{token.PublishStream: 0}), 0},
		{"the token's", mk(500, map[token.Privilege]uint32{token.PublishStream: 0}), 500},
		{"the privilege's", mk(500, map[token.Privilege]uint32{token.PublishStream: 300}), 300},
		{"the last privilege's", mk(0, map[token.Privilege]uint32{token.PublishAudioStream: 300, token.PublishVideoStream: 400}), 400},
		{"the token caps", mk(200, map[token.Privilege]uint32{token.PublishAudioStream: 300}), 200},
	} {
		if got := publishDeadline(tc.tok); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	r := &rtcMember{publishUntil: 100}
	if !r.mayPublish(time.Unix(99, 0)) || r.mayPublish(time.Unix(100, 0)) {
		t.Error("mayPublish around publishUntil")
	}
}

// checkToken maps roomd/token's errors to the wire reasons and refuses
// apps that are not RTC apps.
func TestCheckToken(t *testing.T) {
	rtc := App{ID: "5f3c8a9b2d1e4f6a7b8c9d0e", Secret: "k"}
	group := App{ID: "wx20afc706a711eefc", Secret: "k"}
	s, err := New(Config{Listen: "127.0.0.1:0", Apps: []App{rtc, group}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	mint := func(app App, roomID string, expire uint32) string {
		tk := token.New(app.ID, roomID, "u", now)
		tk.ExpireAt = expire
		tk.AddPrivilege(token.SubscribeStream, expire)
		str, err := tk.Serialize(app.Secret)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}
	join := func(appID, roomID, tok string) *proto.Message {
		return &proto.Message{AppID: appID, CallFields: proto.CallFields{RoomID: roomID},
			RTCFields: proto.RTCFields{UserID: "u", Token: tok}}
	}
	for _, tc := range []struct {
		name   string
		m      *proto.Message
		reason string
	}{
		{"good", join(rtc.ID, "r", mint(rtc, "r", 0)), ""},
		{"star", join(rtc.ID, "r", mint(rtc, "*", 0)), ""},
		{"room *", join(rtc.ID, "*", mint(rtc, "*", 0)), proto.ReasonParams},
		{"expired", join(rtc.ID, "r", mint(rtc, "r", uint32(now.Unix()-1))), proto.ReasonTokenExpired},
		{"other room", join(rtc.ID, "r", mint(rtc, "q", 0)), proto.ReasonTokenInvalid},
		{"group app", join(group.ID, "r", mint(rtc, "r", 0)), proto.ReasonTokenInvalid},
		{"garbage", join(rtc.ID, "r", "xyz"), proto.ReasonTokenInvalid},
	} {
		_, rej := s.checkToken(tc.m, now)
		got := ""
		if rej != nil {
			got = rej.reason
		}
		if got != tc.reason {
			t.Errorf("%s: reason %q, want %q (%v)", tc.name, got, tc.reason, rej)
		}
	}
}

// rtcJoinMsg is user's join of token room roomID of app, with a token that
// may publish and never expires.
func rtcJoinMsg(t *testing.T, app App, roomID, user string) *proto.Message {
	t.Helper()
	tk := token.New(app.ID, roomID, user, time.Now())
	tk.AddPrivilege(token.PublishStream, 0)
	tk.AddPrivilege(token.SubscribeStream, 0)
	str, err := tk.Serialize(app.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return &proto.Message{Type: proto.TypeJoin, Kind: proto.KindRTC, AppID: app.ID,
		CallFields: proto.CallFields{RoomID: roomID}, RTCFields: proto.RTCFields{UserID: user, Token: str}}
}

// TestRTCSeatKept: a token room member whose connection drops keeps its
// seat (and publisher slot) for the grace: joining again with its token it
// takes the seat back in place, and the others never see it leave; past
// the grace the seat is given up and the others see it leave.
func TestRTCSeatKept(t *testing.T) {
	rtc := App{ID: "5f3c8a9b2d1e4f6a7b8c9d0e", Secret: "k"}
	s := startTest(t, Config{Apps: []App{rtc}, RTCMaxPublishers: 2, ResumeGrace: 500 * time.Millisecond})
	ja, a := rawJoin(t, s, rtcJoinMsg(t, rtc, "hall", "a"))
	_, b := rawJoin(t, s, rtcJoinMsg(t, rtc, "hall", "b"))
	if ja.Type != proto.TypeJoined || ja.GraceMs != 500 || !proto.BoolOr(ja.CanPublish, false) {
		t.Fatalf("a's joined %+v: want a slot and the grace", ja)
	}
	a.Close() // the network drops: no leave
	back, a2 := rawJoin(t, s, rtcJoinMsg(t, rtc, "hall", "a"))
	if back.Type != proto.TypeJoined || !slices.Equal(back.Members, []string{"a", "b"}) || !proto.BoolOr(back.CanPublish, false) {
		t.Fatalf("a back: %+v; want joined [a b] with its slot", back)
	}
	// Two slots, both still held: a third publisher gets none.
	jc, c := rawJoin(t, s, rtcJoinMsg(t, rtc, "hall", "c"))
	if proto.BoolOr(jc.CanPublish, true) {
		t.Fatal("a's slot was counted twice or freed: c got a third of two")
	}
	lists := membersUntil(t, b, func(l []string) bool { return slices.Contains(l, "c") })
	for _, l := range lists {
		if !slices.Contains(l, "a") {
			t.Fatalf("b saw a leave: members %v (all: %v)", l, lists)
		}
	}
	c.Close()
	a2.Close() // and now a stays away past the grace
	membersUntil(t, b, func(l []string) bool { return !slices.Contains(l, "a") })
}
