package roomd

import (
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd/token"
)

// The fuzz target of roomd's authentication of a connection's first
// message, beyond proto.Decode (proto's FuzzDecode); member_fuzz_test.go
// has a joined member's messages.

// fuzzNow is the clock of FuzzFirstMessage: its credentials are made for
// it, so the target does the same thing on every run.
var fuzzNow = time.Unix(1_763_880_000, 0)

// fuzzRTCApp is a token-room app (a 24-character Volcengine AppID).
var fuzzRTCApp = App{ID: "5f2a1b3c4d5e6f7081920a1b", Secret: "b7e4d2f0c1a94e8f9a7b6c5d4e3f2a10"}

// admit is what readJoin (member.go) does to a first message once read,
// with the connection left out, and with serveRTC's token check for a
// token room's join: decoded, then a call's first message checked
// (checkCallFirst), else a token, a resume ticket or a join signature.
// It must follow readJoin's order.
func admit(s *Server, b []byte, now time.Time) (*proto.Message, *rejection) {
	msg, err := proto.Decode(b)
	if err != nil {
		return nil, reject(proto.ReasonParams, "%v", err)
	}
	if done, rej := s.checkCallFirst(msg); done {
		return msg, rej
	}
	if msg.Type == proto.TypeJoin && msg.Kind == proto.KindRTC {
		_, rej := s.checkToken(msg, now)
		return msg, rej
	}
	if msg.Type != proto.TypeJoin {
		return nil, reject(proto.ReasonParams, "the first message must be join, not %s", msg.Type)
	}
	if msg.Resume != "" {
		_, rej := s.auth.checkResume(msg, now)
		return msg, rej
	}
	return msg, s.auth.check(msg, now)
}

// firstCreds are the credentials FuzzFirstMessage made: the only ones
// that may get a first message in.
type firstCreds struct {
	sigs        map[string]signedBy     // signature → who signed what
	tickets     map[string]proto.Resume // resume ticket → its claims
	tokens      map[string][2]string    // token → its room and user
	callTickets map[string]string       // an accepted call's ticket → its openid
	seeds       [][]byte                // the valid first messages
}

type signedBy struct{ openid, signed string }

// joinSigned is WeChat's signed string (proto.Signature): the four
// fields sorted and joined without separators.
func joinSigned(appID, groupID, nonceStr string, ts int64) string {
	parts := []string{appID, groupID, nonceStr, strconv.FormatInt(ts, 10)}
	sort.Strings(parts)
	return strings.Join(parts, "")
}

// fuzzCallID is the accepted call newFirstServer puts in the registry.
const fuzzCallID = "fuzzcall"

// newFirstServer is a roomd that is not listening (the first message's
// checks need none), with testApp and a token-room app, and one accepted
// call whose tickets are in creds.
func newFirstServer(tb testing.TB, creds *firstCreds) *Server {
	s, err := New(Config{Listen: "127.0.0.1:0", Apps: []App{testApp, fuzzRTCApp}})
	if err != nil {
		tb.Fatal(err)
	}
	far := time.Now().Add(24 * time.Hour) // redeem reads the real clock
	c := &call{id: fuzzCallID, appID: testApp.ID, state: callAccepted, roomType: proto.RoomVideo,
		caller: proto.Party{OpenID: "alice"}, listener: proto.Party{OpenID: "bob"}}
	i := 0
	for secret, openid := range creds.callTickets {
		c.tickets[i] = ticket{openid: openid, secret: secret, expires: far}
		i++
	}
	s.calls.calls[c.id] = c
	return s
}

// makeFirstCreds signs, seals and mints the valid first messages.
func makeFirstCreds(tb testing.TB) *firstCreds {
	cr := &firstCreds{sigs: map[string]signedBy{}, tickets: map[string]proto.Resume{}, tokens: map[string][2]string{},
		callTickets: map[string]string{"alice-ticket-0123456789": "alice", "bob-ticket-9876543210": "bob"}}
	add := func(m *proto.Message) {
		b, err := json.Marshal(m)
		if err != nil {
			tb.Fatal(err)
		}
		cr.seeds = append(cr.seeds, b)
	}
	sign := func(openid, group, nonce string) (string, int64) {
		ts := fuzzNow.Unix()
		sig := proto.Signature(testApp.ID, group, nonce, ts, proto.SessionKey(testApp.Secret, openid))
		cr.sigs[sig] = signedBy{openid, joinSigned(testApp.ID, group, nonce, ts)}
		return sig, ts
	}
	// Group joins, voice and video.
	for _, j := range [][3]string{{"door-1", "lobby", "8AP6DT9ybtniUJfb"}, {"kiosk", "1559129713_672975982", "ABCDEFGHIJKLMNOP"}} {
		sig, ts := sign(j[0], j[1], j[2])
		add(&proto.Message{Type: proto.TypeJoin, Kind: proto.KindVoIP, AppID: testApp.ID, OpenID: j[0], GroupID: j[1],
			NonceStr: j[2], TimeStamp: ts, Signature: sig, RoomType: proto.RoomVideo, MuteConfig: &proto.MuteConfig{MuteEarphone: true}})
	}
	// Register and call: signatures over their purpose-made groupIds.
	sig, ts := sign("bob", proto.PresenceGroup("bob"), "registerNonce001")
	add(&proto.Message{Type: proto.TypeRegister, AppID: testApp.ID, OpenID: "bob", NonceStr: "registerNonce001", TimeStamp: ts, Signature: sig})
	sig, ts = sign("alice", proto.CallGroup("bob"), "callNonce0000001")
	add(&proto.Message{Type: proto.TypeCall, AppID: testApp.ID, NonceStr: "callNonce0000001", TimeStamp: ts, Signature: sig,
		CallFields: proto.CallFields{Caller: &proto.Party{OpenID: "alice", Nickname: "A"}, Listener: &proto.Party{OpenID: "bob", Nickname: "B"}, RingTimeoutMs: 5000}})
	// Resume tickets: a group room's and a call room's.
	for _, r := range []proto.Resume{
		{AppID: testApp.ID, Kind: proto.KindVoIP, Room: "lobby", Member: "door-1", RoomType: proto.RoomVoice, JoinType: proto.RoomVoice, Joined: 1, Expires: fuzzNow.Unix() + 3600},
		{AppID: testApp.ID, Kind: proto.Kind1v1, Room: proto.CallRoomPrefix + fuzzCallID, Member: "alice", RoomType: proto.RoomVideo, JoinType: proto.RoomVideo, Joined: 2, Expires: fuzzNow.Unix() + 60},
	} {
		tk := r.Seal(testApp.Secret)
		cr.tickets[tk] = r
		m := &proto.Message{Type: proto.TypeJoin, Kind: r.Kind, AppID: testApp.ID, OpenID: r.Member, Resume: tk}
		if r.Kind == proto.Kind1v1 {
			m.RoomID = r.Room
		} else {
			m.GroupID = r.Room
		}
		add(m)
	}
	// A call room's join with its ticket.
	for secret, openid := range cr.callTickets {
		add(&proto.Message{Type: proto.TypeJoin, Kind: proto.Kind1v1, AppID: testApp.ID, OpenID: openid,
			CallFields: proto.CallFields{RoomID: proto.CallRoomPrefix + fuzzCallID, Ticket: secret}})
	}
	// Token rooms: one room's token, and one for any room.
	for _, g := range [][2]string{{"r1", "u1"}, {"*", "viewer"}} {
		tk := token.New(fuzzRTCApp.ID, g[0], g[1], fuzzNow)
		tk.ExpireAt = uint32(fuzzNow.Unix() + 3600)
		tk.AddPrivilege(token.PublishStream, 0)
		tk.AddPrivilege(token.SubscribeStream, 0)
		s, err := tk.Serialize(fuzzRTCApp.Secret)
		if err != nil {
			tb.Fatal(err)
		}
		cr.tokens[s] = g
		room := g[0]
		if room == "*" {
			room = "any"
		}
		add(&proto.Message{Type: proto.TypeJoin, Kind: proto.KindRTC, AppID: fuzzRTCApp.ID,
			CallFields: proto.CallFields{RoomID: room}, RTCFields: proto.RTCFields{UserID: g[1], Token: s}})
	}
	return cr
}

// mutateBytes changes b at pos (taken modulo its length) as op says: 0
// replaces the byte there with c, 1 inserts c before it, 2 deletes it.
func mutateBytes(b []byte, pos uint16, c byte, op uint8) []byte {
	b = slices.Clone(b)
	switch op % 3 {
	case 0:
		if len(b) > 0 {
			b[int(pos)%len(b)] = c
		}
	case 1:
		i := int(pos) % (len(b) + 1)
		b = slices.Insert(b, i, c)
	case 2:
		if len(b) > 0 {
			i := int(pos) % len(b)
			b = slices.Delete(b, i, i+1)
		}
	}
	return b
}

// checkAdmitted is FuzzFirstMessage's property for one first message: a
// refusal gives a reason; what gets in (or, for a signature, passes the
// signature check and is refused only for its timestamp or nonce) holds
// credentials made here, for the app, room and member they were made for.
func checkAdmitted(t *testing.T, cr *firstCreds, b []byte, msg *proto.Message, rej *rejection) {
	t.Helper()
	if rej != nil && (rej.reason == "" || rej.msg == "") {
		t.Fatalf("%s: refused without a reason or message: %+v", b, rej)
	}
	signed := rej == nil || rej.reason == proto.ReasonTimestamp || rej.reason == proto.ReasonReplay
	checkSig := func(openid, group string) {
		sb, ok := cr.sigs[strings.ToLower(msg.Signature)]
		switch {
		case !ok:
			t.Fatalf("%s: a signature made by no one here passed", b)
		case msg.AppID != testApp.ID || openid != sb.openid:
			t.Fatalf("%s: %s's signature passed for %s of app %s", b, sb.openid, openid, msg.AppID)
		case joinSigned(msg.AppID, group, msg.NonceStr, msg.TimeStamp) != sb.signed:
			// Only a re-split of the same signed string may pass (WeChat's
			// scheme: proto's FuzzVerifySignature).
			t.Fatalf("%s: a signature of %q passed for groupId %q, nonceStr %q", b, sb.signed, group, msg.NonceStr)
		}
	}
	switch {
	case msg == nil:
		if rej == nil {
			t.Fatalf("%s: neither a message nor a refusal", b)
		}
	case msg.Type == proto.TypeRegister:
		if signed {
			checkSig(msg.OpenID, proto.PresenceGroup(msg.OpenID))
		}
	case msg.Type == proto.TypeCall:
		if signed {
			checkSig(msg.Caller.OpenID, proto.CallGroup(msg.Listener.OpenID))
		}
	case rej != nil:
	case msg.Type != proto.TypeJoin:
		t.Fatalf("%s: a %s message got in as a first message", b, msg.Type)
	case msg.Kind == proto.KindRTC:
		g, ok := cr.tokens[msg.Token]
		if !ok || msg.AppID != fuzzRTCApp.ID || msg.UserID != g[1] || (g[0] != "*" && msg.RoomID != g[0]) {
			t.Fatalf("%s: token for %v let %s into room %s of app %s", b, g, msg.UserID, msg.RoomID, msg.AppID)
		}
	case msg.Resume != "":
		r, ok := cr.tickets[msg.Resume]
		if !ok || r.AppID != msg.AppID || r.Kind != msg.Kind || r.Room != msg.GroupID || r.Member != msg.OpenID {
			t.Fatalf("%s: resume ticket for %+v let %s back into %s", b, r, msg.OpenID, msg.GroupID)
		}
	case msg.Kind == proto.Kind1v1:
		openid, ok := cr.callTickets[msg.Ticket]
		if !ok || openid != msg.OpenID || msg.AppID != testApp.ID || msg.GroupID != proto.CallRoomPrefix+fuzzCallID {
			t.Fatalf("%s: call ticket of %q let %s into %s", b, openid, msg.OpenID, msg.GroupID)
		}
	default:
		if strings.HasPrefix(msg.GroupID, proto.CallRoomPrefix) {
			t.Fatalf("%s: a group join got into call room %s", b, msg.GroupID)
		}
		checkSig(msg.OpenID, msg.GroupID)
	}
}

// FuzzFirstMessage: a connection's first message — a group join with its
// signature or resume ticket, a call room's join with its ticket, a token
// room's join with its token, register, call — is decoded and
// authenticated (admit) by a fresh server, without a panic, and nothing
// gets in without credentials made here (checkAdmitted). The fuzzer gives
// both a free-form message and a mutation (mutateBytes) of a valid one.
func FuzzFirstMessage(f *testing.F) {
	cr := makeFirstCreds(f)
	for i, b := range cr.seeds {
		// The valid messages get in (register and call as far as their
		// timeStamp, which checkCallFirst checks against the real clock):
		// the property is not vacuous.
		if msg, rej := admit(newFirstServer(f, cr), b, fuzzNow); rej != nil && (msg == nil || rej.reason != proto.ReasonTimestamp) {
			f.Fatalf("valid first message %s refused: %v", b, rej)
		}
		f.Add(b, uint8(i), uint16(0), byte(' '), uint8(1))
	}
	for _, s := range []string{
		`{"type":"join","kind":"voip","appId":"wx20afc706a711eefc","openid":"o","groupId":"1v1:fuzzcall","nonceStr":"n","timeStamp":1,"signature":"s"}`,
		`{"type":"join","kind":"1v1","appId":"wx20afc706a711eefc","openid":"alice","roomId":"fuzzcall","ticket":"alice-ticket-0123456789"}`,
		`{"type":"join","kind":"rtc","appId":"5f2a1b3c4d5e6f7081920a1b","roomId":"*","userId":"u","token":"001"}`,
		`{"type":"join","kind":"voip","appId":"unknown","openid":"o","groupId":"g","resume":"r1.e30.AAAA"}`,
		`{"type":"ping"}`, `{"type":"call"}`, `{}`, `null`,
	} {
		f.Add([]byte(s), uint8(0), uint16(7), byte('"'), uint8(2))
	}
	f.Fuzz(func(t *testing.T, b []byte, which uint8, pos uint16, c byte, op uint8) {
		msg, rej := admit(newFirstServer(t, cr), b, fuzzNow)
		checkAdmitted(t, cr, b, msg, rej)
		m := mutateBytes(cr.seeds[int(which)%len(cr.seeds)], pos, c, op)
		msg, rej = admit(newFirstServer(t, cr), m, fuzzNow)
		checkAdmitted(t, cr, m, msg, rej)
	})
}
