package lkgate_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"

	"github.com/voipd/voipd/internal/lktest"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
	"github.com/voipd/voipd/roomd/lkgate"
	"github.com/voipd/voipd/roomd/token"
)

var (
	wxApp  = roomd.App{ID: "wx20afc706a711eefc", Secret: "0123456789abcdef0123456789abcdef"}
	rtcApp = roomd.App{ID: "0123456789abcdef01234567", Secret: "fedcba9876543210fedcba9876543210"}
)

// gateway starts a roomd in gateway mode in front of node, its nonces in
// redis, and returns its WebSocket URL.
func gateway(t *testing.T, node *lktest.Node, redis string) string {
	t.Helper()
	gw, err := lkgate.New(lkgate.Config{URL: node.URL, APIKey: lktest.Key, APISecret: lktest.Secret, Redis: redis})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	srv, err := roomd.New(roomd.Config{Listen: "127.0.0.1:0", Apps: []roomd.App{wxApp, rtcApp}, Gateway: gw})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	if srv.UDPPort() != 0 {
		t.Errorf("a gateway bound UDP port %d: it forwards no media", srv.UDPPort())
	}
	return "ws" + strings.TrimPrefix(srv.URL(), "http") + "/ws"
}

// ask sends msg as a connection's first message and returns the answer;
// the gateway closes the connection after it.
func ask(t *testing.T, url string, msg *proto.Message) *proto.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	b, _ := json.Marshal(msg)
	if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, reply, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("no answer to %s: %v", msg.Type, err)
	}
	m, err := proto.Decode(reply)
	if err != nil {
		t.Fatalf("bad answer %s: %v", reply, err)
	}
	if _, _, err := c.ReadMessage(); err == nil {
		t.Errorf("the gateway kept the connection open after %s", m.Type)
	}
	return m
}

func signedJoin(openid, group, roomType string) *proto.Message {
	sg := roomd.Sign(wxApp, openid, group, time.Now())
	return &proto.Message{Type: proto.TypeJoin, Kind: proto.KindVoIP, AppID: sg.AppID, OpenID: sg.OpenID,
		GroupID: sg.GroupID, NonceStr: sg.NonceStr, TimeStamp: sg.TimeStamp, Signature: sg.Signature, RoomType: roomType}
}

// grants verifies a LiveKit access token with the test key pair.
func grants(t *testing.T, tok string) *auth.ClaimGrants {
	t.Helper()
	v, err := auth.ParseAPIToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	if v.APIKey() != lktest.Key {
		t.Errorf("token issued by key %q, want %q", v.APIKey(), lktest.Key)
	}
	_, g, err := v.Verify(lktest.Secret)
	if err != nil {
		t.Fatalf("the token does not verify with the LiveKit secret: %v", err)
	}
	return g
}

func wantLiveKit(t *testing.T, m *proto.Message, node *lktest.Node) {
	t.Helper()
	if m.Type != proto.TypeLiveKit {
		t.Fatalf("answer %s %s %s, want livekit", m.Type, m.Reason, m.Message)
	}
	if m.URL != node.URL {
		t.Errorf("livekit url %q, want %q", m.URL, node.URL)
	}
	if err := node.Validate(m.Token); err != nil {
		t.Errorf("LiveKit refuses the gateway's token: %v", err)
	}
}

// TestGatewayNoncesAcrossGateways (issue 18, test 2): two gateways share
// one Redis; a join's nonce spent at gateway 0 is refused at gateway 1
// (replay), a fresh one joins, and the token each gateway hands out is one
// LiveKit accepts, for the join's room and member.
func TestGatewayNoncesAcrossGateways(t *testing.T) {
	redis := lktest.Redis(t)
	node := lktest.LiveKit(t, redis)
	gw0, gw1 := gateway(t, node, redis), gateway(t, node, redis)

	join := signedJoin("door-1", "lobby", proto.RoomVideo)
	first := ask(t, gw0, join)
	wantLiveKit(t, first, node)
	g := grants(t, first.Token)
	if g.Identity != "door-1" || g.Video == nil || !g.Video.RoomJoin || g.Video.Room != lkgate.RoomName(proto.KindVoIP, wxApp.ID, "lobby") {
		t.Errorf("grants %+v %+v: want door-1 joining %s", g, g.Video, lkgate.RoomName(proto.KindVoIP, wxApp.ID, "lobby"))
	}
	if !g.Video.GetCanPublish() || !g.Video.GetCanSubscribe() || len(g.Video.CanPublishSources) != 0 {
		t.Errorf("a video member's grants: publish %v subscribe %v sources %v; want both, any source",
			g.Video.GetCanPublish(), g.Video.GetCanSubscribe(), g.Video.CanPublishSources)
	}
	if g.RoomConfig == nil || g.RoomConfig.MaxParticipants != 10 || !strings.Contains(g.RoomConfig.Metadata, `"roomType":"video"`) {
		t.Errorf("room config %v: want 10 members, a video room", g.RoomConfig)
	}
	if first.Resume == "" || first.GraceMs <= 0 {
		t.Errorf("livekit answer without a resume ticket (%q) or grace (%d)", first.Resume, first.GraceMs)
	}

	// The same nonce at the other gateway: replay.
	again := ask(t, gw1, join)
	if again.Type != proto.TypeError || again.Reason != proto.ReasonReplay {
		t.Fatalf("the nonce spent at gateway 0, at gateway 1: %s %s %s; want error replay", again.Type, again.Reason, again.Message)
	}
	// A fresh one joins there.
	wantLiveKit(t, ask(t, gw1, signedJoin("door-1", "lobby", proto.RoomVideo)), node)

	// Back with the ticket, at either gateway: no nonce needed.
	back := ask(t, gw1, &proto.Message{Type: proto.TypeJoin, Kind: proto.KindVoIP, AppID: wxApp.ID, OpenID: "door-1",
		GroupID: "lobby", Resume: first.Resume})
	wantLiveKit(t, back, node)
	if g := grants(t, back.Token); g.Identity != "door-1" || g.RoomConfig == nil || !strings.Contains(g.RoomConfig.Metadata, `"roomType":"video"`) {
		t.Errorf("resumed grants %+v: want door-1 in its video room", g)
	}
	// Another member's ticket is refused.
	if m := ask(t, gw0, &proto.Message{Type: proto.TypeJoin, Kind: proto.KindVoIP, AppID: wxApp.ID, OpenID: "door-2",
		GroupID: "lobby", Resume: first.Resume}); m.Type != proto.TypeError || m.Reason != proto.ReasonResume {
		t.Errorf("another member's ticket: %s %s, want error resume", m.Type, m.Reason)
	}

	// A voice member publishes its microphone only.
	voice := ask(t, gw0, signedJoin("door-3", "hall", ""))
	wantLiveKit(t, voice, node)
	if s := grants(t, voice.Token).Video.GetCanPublishSources(); len(s) != 1 || s[0] != livekit.TrackSource_MICROPHONE {
		t.Errorf("a voice member may publish %v, want the microphone only", s)
	}

	// A bad signature never reaches LiveKit.
	bad := signedJoin("door-1", "lobby", "")
	bad.Signature = strings.Repeat("0", 64)
	if m := ask(t, gw0, bad); m.Type != proto.TypeError || m.Reason != proto.ReasonSignature {
		t.Errorf("bad signature: %s %s, want error signature", m.Type, m.Reason)
	}
}

// TestGatewayRTCTokens: a token room's join is checked against its
// Volcengine token at the gateway, and the LiveKit grant follows its
// privileges: a subscribe-only token cannot publish.
func TestGatewayRTCTokens(t *testing.T) {
	redis := lktest.Redis(t)
	node := lktest.LiveKit(t, redis)
	gw := gateway(t, node, redis)
	now := time.Now()
	rtcJoin := func(user string, publish bool, expire uint32) *proto.Message {
		tk := token.New(rtcApp.ID, "studio", user, now)
		tk.ExpireAt = expire
		if publish {
			tk.AddPrivilege(token.PublishStream, 0)
		}
		tk.AddPrivilege(token.SubscribeStream, 0)
		s, err := tk.Serialize(rtcApp.Secret)
		if err != nil {
			t.Fatal(err)
		}
		m := &proto.Message{Type: proto.TypeJoin, Kind: proto.KindRTC, AppID: rtcApp.ID}
		m.RoomID, m.UserID, m.Token = "studio", user, s
		return m
	}
	for _, c := range []struct {
		user    string
		publish bool
	}{{"host", true}, {"viewer", false}} {
		m := ask(t, gw, rtcJoin(c.user, c.publish, uint32(now.Add(time.Hour).Unix())))
		wantLiveKit(t, m, node)
		g := grants(t, m.Token)
		if g.Identity != c.user || g.Video.Room != lkgate.RoomName(proto.KindRTC, rtcApp.ID, "studio") {
			t.Errorf("%s: grants %+v", c.user, g.Video)
		}
		if g.Video.GetCanPublish() != c.publish || g.Video.GetCanPublishData() != c.publish || !g.Video.GetCanSubscribe() {
			t.Errorf("%s: publish %v, data %v, subscribe %v; want publish %v and subscribe", c.user,
				g.Video.GetCanPublish(), g.Video.GetCanPublishData(), g.Video.GetCanSubscribe(), c.publish)
		}
		if g.RoomConfig == nil || g.RoomConfig.MaxParticipants != 50 {
			t.Errorf("token room config %v, want 50 members", g.RoomConfig)
		}
	}
	if m := ask(t, gw, rtcJoin("late", true, uint32(now.Add(-time.Minute).Unix()))); m.Type != proto.TypeError || m.Reason != proto.ReasonTokenExpired {
		t.Errorf("expired token: %s %s, want error token_expired", m.Type, m.Reason)
	}
}

// TestGatewayWithoutRedis: a gateway whose Redis does not answer cannot
// tell a replay, so it refuses joins (internal) and says why, rather than
// letting a nonce be used twice.
func TestGatewayWithoutRedis(t *testing.T) {
	redis := lktest.Redis(t)
	node := lktest.LiveKit(t, redis)
	dead := "127.0.0.1:1" // nothing listens on port 1 here
	gw := gateway(t, node, dead)
	m := ask(t, gw, signedJoin("door-1", "lobby", ""))
	if m.Type != proto.TypeError || m.Reason != proto.ReasonInternal || !strings.Contains(m.Message, "nonce") {
		t.Fatalf("join with Redis down: %s %s %q; want error internal naming the nonce check", m.Type, m.Reason, m.Message)
	}
}

// TestGatewayFailover: with several LiveKit URLs a gateway sends joins to
// the first whose node answers its health check.
func TestGatewayFailover(t *testing.T) {
	redis := lktest.Redis(t)
	node := lktest.LiveKit(t, redis)
	dead := "ws://127.0.0.1:1" // nothing listens on port 1 here
	gw, err := lkgate.New(lkgate.Config{URL: dead + ", " + node.URL, APIKey: lktest.Key, APISecret: lktest.Secret, Redis: redis})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		url, _, err := gw.Admit(roomd.Admission{AppID: wxApp.ID, Kind: proto.KindVoIP, Room: "lobby", Member: "door-1",
			RoomType: proto.RoomVoice, MaxMembers: 10, CanPublish: true})
		if err != nil {
			t.Fatal(err)
		}
		if url == node.URL {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("joins still go to %s, whose node is down", url)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := lkgate.New(lkgate.Config{URL: node.URL + ",http://x", APIKey: "k", APISecret: "s", Redis: redis}); err == nil ||
		!strings.Contains(err.Error(), "http://x") {
		t.Errorf("a list with a non-WebSocket URL: %v, want an error naming it", err)
	}
}

// wsConn is a test's signalling socket to a gateway.
type wsConn struct {
	t *testing.T
	c *websocket.Conn
}

func dial(t *testing.T, url string) *wsConn {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &wsConn{t, c}
}

func (w *wsConn) send(m *proto.Message) {
	w.t.Helper()
	b, _ := json.Marshal(m)
	if err := w.c.WriteMessage(websocket.TextMessage, b); err != nil {
		w.t.Fatal(err)
	}
}

// next is the next message other than pings.
func (w *wsConn) next() *proto.Message {
	w.t.Helper()
	for {
		w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, b, err := w.c.ReadMessage()
		if err != nil {
			w.t.Fatalf("reading: %v", err)
		}
		m, err := proto.Decode(b)
		if err != nil {
			w.t.Fatalf("bad message %s: %v", b, err)
		}
		if m.Type != proto.TypePing && m.Type != proto.TypePong {
			return m
		}
	}
}

func register(t *testing.T, url, openid string) *wsConn {
	t.Helper()
	sg := roomd.Sign(wxApp, openid, proto.PresenceGroup(openid), time.Now())
	w := dial(t, url)
	w.send(&proto.Message{Type: proto.TypeRegister, AppID: wxApp.ID, OpenID: openid,
		NonceStr: sg.NonceStr, TimeStamp: sg.TimeStamp, Signature: sg.Signature})
	if m := w.next(); m.Type != proto.TypeRegistered {
		t.Fatalf("register %s: %s %s %s", openid, m.Type, m.Reason, m.Message)
	}
	return w
}

func placeCall(t *testing.T, url, caller, listener string) *wsConn {
	t.Helper()
	sg := roomd.Sign(wxApp, caller, proto.CallGroup(listener), time.Now())
	w := dial(t, url)
	m := &proto.Message{Type: proto.TypeCall, AppID: wxApp.ID, NonceStr: sg.NonceStr, TimeStamp: sg.TimeStamp,
		Signature: sg.Signature, RoomType: proto.RoomVoice}
	m.Caller, m.Listener = &proto.Party{OpenID: caller, Nickname: caller}, &proto.Party{OpenID: listener, Nickname: listener}
	w.send(m)
	return w
}

// TestCallsAcrossGateways (issue 18, test 3's signalling): a panel
// registered at gateway 0 is rung by a caller at gateway 1; the answer
// crosses back; each side redeems its ticket (once) at either gateway for
// LiveKit's call room. Declined, offline and a caller hanging up cross
// too.
func TestCallsAcrossGateways(t *testing.T) {
	redis := lktest.Redis(t)
	node := lktest.LiveKit(t, redis)
	gw0, gw1 := gateway(t, node, redis), gateway(t, node, redis)

	pres := register(t, gw0, "door-1")
	caller := placeCall(t, gw1, "desk", "door-1")
	if m := caller.next(); m.Type != proto.TypeRinging {
		t.Fatalf("caller got %s %s, want ringing", m.Type, m.Reason)
	}
	inv := pres.next()
	if inv.Type != proto.TypeInvite || inv.Caller.OpenID != "desk" {
		t.Fatalf("presence got %s %+v, want an invite from desk", inv.Type, inv.Caller)
	}
	yes := true
	pres.send(&proto.Message{Type: proto.TypeCallAnswer, CallFields: proto.CallFields{CallID: inv.CallID, Accept: &yes}})
	la, ca := pres.next(), caller.next()
	if la.Type != proto.TypeAccepted || ca.Type != proto.TypeAccepted || la.RoomID != ca.RoomID || la.Peer != "desk" || ca.Peer != "door-1" {
		t.Fatalf("accepted: listener %s %+v, caller %s %+v", la.Type, la.CallFields, ca.Type, ca.CallFields)
	}
	// Each side's ticket at the other's gateway: LiveKit's call room.
	join := func(openid, ticket string) *proto.Message {
		m := &proto.Message{Type: proto.TypeJoin, Kind: proto.Kind1v1, AppID: wxApp.ID, OpenID: openid}
		m.RoomID, m.Ticket = la.RoomID, ticket
		return m
	}
	for _, j := range []struct{ url, openid, ticket string }{{gw0, "desk", ca.Ticket}, {gw1, "door-1", la.Ticket}} {
		m := ask(t, j.url, join(j.openid, j.ticket))
		wantLiveKit(t, m, node)
		g := grants(t, m.Token)
		if g.Identity != j.openid || g.Video.Room != lkgate.RoomName(proto.Kind1v1, wxApp.ID, la.RoomID) || g.RoomConfig.MaxParticipants != 2 {
			t.Errorf("%s's call room grant %+v %+v", j.openid, g.Video, g.RoomConfig)
		}
		if m.Resume == "" {
			t.Errorf("%s's call join has no resume ticket", j.openid)
		}
	}
	if m := ask(t, gw1, join("desk", ca.Ticket)); m.Type != proto.TypeError || m.Reason != proto.ReasonTicket {
		t.Errorf("a ticket used twice: %s %s, want error ticket", m.Type, m.Reason)
	}

	// Declined across gateways.
	c2 := placeCall(t, gw1, "desk", "door-1")
	c2.next() // ringing
	inv = pres.next()
	no := false
	pres.send(&proto.Message{Type: proto.TypeCallAnswer, CallFields: proto.CallFields{CallID: inv.CallID, Accept: &no}})
	if m := c2.next(); m.Type != proto.TypeCallEnded || m.Reason != proto.ReasonDeclined {
		t.Errorf("caller after a decline: %s %s", m.Type, m.Reason)
	}
	if m := pres.next(); m.Type != proto.TypeCallEnded || m.Reason != proto.ReasonDeclined {
		t.Errorf("listener after its decline: %s %s", m.Type, m.Reason)
	}

	// The caller hangs up while it rings: the listener hears "remote".
	c3 := placeCall(t, gw1, "desk", "door-1")
	c3.next()
	inv = pres.next()
	c3.send(&proto.Message{Type: proto.TypeHangup, CallFields: proto.CallFields{CallID: inv.CallID}})
	if m := pres.next(); m.Type != proto.TypeCallEnded || m.Reason != proto.ReasonRemote || m.CallID != inv.CallID {
		t.Errorf("listener after the caller hung up: %s %s", m.Type, m.Reason)
	}

	// No presence anywhere: offline.
	c4 := placeCall(t, gw1, "desk", "door-9")
	if m := c4.next(); m.Type != proto.TypeError || m.Reason != proto.ReasonOffline {
		t.Errorf("calling an unregistered panel: %s %s, want error offline", m.Type, m.Reason)
	}

	// The panel says it is busy (in a room on LiveKit, which no gateway
	// sees): the caller's call ends listener_busy.
	c5 := placeCall(t, gw1, "desk", "door-1")
	c5.next()
	inv = pres.next()
	pres.send(&proto.Message{Type: proto.TypeCallAnswer, Reason: proto.ReasonListenerBusy, CallFields: proto.CallFields{CallID: inv.CallID, Accept: &no}})
	if m := c5.next(); m.Type != proto.TypeCallEnded || m.Reason != proto.ReasonListenerBusy {
		t.Errorf("caller after a busy answer: %s %s, want callEnded listener_busy", m.Type, m.Reason)
	}
	if m := pres.next(); m.Type != proto.TypeCallEnded || m.Reason != proto.ReasonDeclined {
		t.Errorf("listener after its busy answer: %s %s", m.Type, m.Reason)
	}

	// A call rings the panel from gateway 1; a second one, placed at a
	// third gateway that knows nothing of the first, is refused busy by
	// the panel's gateway, and the panel is not invited twice.
	gw2 := gateway(t, node, redis)
	c6 := placeCall(t, gw1, "desk", "door-1")
	c6.next()
	inv = pres.next()
	c7 := placeCall(t, gw2, "lobby", "door-1")
	for _, want := range []string{proto.TypeRinging, proto.TypeCallEnded} {
		if m := c7.next(); m.Type != want || (want == proto.TypeCallEnded && m.Reason != proto.ReasonListenerBusy) {
			t.Errorf("a second caller: %s %s, want %s (then listener_busy)", m.Type, m.Reason, want)
		}
	}
	c6.send(&proto.Message{Type: proto.TypeHangup, CallFields: proto.CallFields{CallID: inv.CallID}})
	if m := pres.next(); m.Type != proto.TypeCallEnded || m.CallID != inv.CallID {
		t.Errorf("the panel after the first caller hung up: %s %s for %s, want the end of %s (no second invite)", m.Type, m.Reason, m.CallID, inv.CallID)
	}
}
