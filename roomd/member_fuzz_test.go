package roomd

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
)

// The fuzz target of roomd's handling of a joined member's messages,
// beyond proto.Decode (proto's FuzzDecode); first_fuzz_test.go has the
// first message's.

// fuzzRoom is a video room of two members, alice and bob, with their peer
// connections on a listening roomd, but no WebSockets: FuzzMemberMessage
// hands alice's messages to what readLoop calls, and reads what both are
// sent from their queues.
type fuzzRoom struct {
	s          *Server
	alice, bob *member
	inputs     int
	history    []string // the last inputs, for a failure's message: the room's state comes from them
}

// fuzzRoomInputs is how many inputs a room takes before it is made anew:
// a peer connection that has been given thousands of remote candidates
// would slow the fuzzer down, not find more.
const fuzzRoomInputs = 2000

func (r *fuzzRoom) join(tb testing.TB, openid string) *member {
	m := r.s.newMember(nil, "127.0.0.1:9")
	m.openid, m.appID, m.groupID = openid, testApp.ID, "fuzz"
	m.key = testApp.ID + "\x00fuzz"
	m.log = m.log.With("openid", openid)
	m.roomType, m.kind, m.resumable = proto.RoomVideo, proto.KindVoIP, true
	m.joinedAt = time.Now().UnixMilli()
	if err := m.newPeer(r.s.api); err != nil {
		tb.Fatal(err)
	}
	if rej := r.s.join(m); rej != nil {
		tb.Fatal(rej)
	}
	return m
}

func (r *fuzzRoom) leave(m *member) {
	r.s.leave(m)
	m.stopKeyframes()
	m.stopMediaGrace()
	m.pc.Close()
	r.s.dropConn(m)
}

// reset replaces the room's members with new ones.
func (r *fuzzRoom) reset(tb testing.TB) {
	if r.alice != nil {
		r.leave(r.alice)
		r.leave(r.bob)
	}
	r.alice, r.bob = r.join(tb, "alice"), r.join(tb, "bob")
	r.inputs, r.history = 0, nil
	r.drain()
}

// drain empties both members' queues and returns alice's last offer.
func (r *fuzzRoom) drain() (offer string) {
	for _, m := range []*member{r.alice, r.bob} {
		for {
			select {
			case b := <-m.out:
				if m == r.alice {
					var msg proto.Message
					if json.Unmarshal(b, &msg) == nil && msg.Type == proto.TypeOffer {
						offer = msg.SDP
					}
				}
				continue
			default:
			}
			break
		}
	}
	return offer
}

// handle is readLoop's dispatch (member.go) of one decoded message, but
// for leave, which ends the connection.
func (r *fuzzRoom) handle(m *member, msg *proto.Message) error {
	switch msg.Type {
	case proto.TypeAnswer:
		return m.answer(msg.SDP)
	case proto.TypeCandidate:
		return m.candidate(msg.Candidate)
	case proto.TypeMute:
		m.negMu.Lock()
		m.mute = *msg.MuteConfig
		m.negMu.Unlock()
	case proto.TypeSubscribe:
		r.s.subscribe(m, msg.OpenIDList)
	case proto.TypeICERestart:
		m.mediaFailed()
		m.restartICE()
		m.mediaUp() // as if the restart worked: the grace must not end the member mid-run
	case proto.TypePing:
		m.send(&proto.Message{Type: proto.TypePong})
	case proto.TypePong, proto.TypeLeave:
	default:
		return r.s.rtcMessage(m, msg)
	}
	return nil
}

// endedBy reports whether m was ended with an error whose message has msg.
func endedBy(m *member, msg string) bool {
	select {
	case <-m.quit:
		return strings.Contains(string(m.final), msg)
	default:
		return false
	}
}

// answerTo makes the answer a browser-like peer gives to offer, with its
// candidates in it.
func answerTo(tb testing.TB, offer string) string {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	defer pc.Close()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		tb.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		tb.Fatal("gathering did not complete")
	}
	return pc.LocalDescription().SDP
}

// FuzzMemberMessage hands a joined member's messages (alice's, in a video
// room with bob) to what readLoop calls for them: answers to the server's
// offers (roomd's checkAnswer, then pion's SDP handling), trickled
// candidates, mute, subscribe, iceRestart, ping, and the token-room
// messages a group member may not send. Nothing may panic; only answers,
// candidates and messages that are not a group member's may be refused;
// and whatever alice sends, both members stay in the room, neither is
// ended, and each one's negotiation is where roomd thinks it is (an offer
// outstanding exactly while the peer connection has a local offer), so a
// bogus answer never wedges the next good one. One room serves
// fuzzRoomInputs inputs: the properties hold whatever came before.
func FuzzMemberMessage(f *testing.F) {
	s, err := New(Config{Listen: "127.0.0.1:0", Apps: []App{testApp}, ResumeGrace: time.Hour, MediaTimeout: time.Hour})
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	r := &fuzzRoom{s: s}
	r.alice, r.bob = r.join(f, "alice"), r.join(f, "bob")
	offer := r.drain()
	if offer == "" {
		f.Fatal("alice got no offer")
	}
	add := func(m *proto.Message) {
		b, err := json.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	answer := answerTo(f, offer)
	if err := r.alice.answer(answer); err != nil { // the valid answer is taken: the property is not vacuous
		f.Fatalf("a browser-like answer refused: %v", err)
	}
	r.alice.negotiate()
	r.drain()
	add(&proto.Message{Type: proto.TypeAnswer, SDP: answer})
	add(&proto.Message{Type: proto.TypeAnswer, SDP: offer}) // its own offer sent back
	add(&proto.Message{Type: proto.TypeAnswer, SDP: strings.ReplaceAll(answer, "a=setup:active", "a=setup:actpass")})
	if i := strings.Index(answer, "\r\nm="); i >= 0 {
		add(&proto.Message{Type: proto.TypeAnswer, SDP: answer[:i+2]}) // the session part alone
	}
	add(&proto.Message{Type: proto.TypeAnswer, SDP: "v=0\r\n"})
	for _, c := range []string{
		`{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}`,
		`{"candidate":"candidate:2 1 tcp 1518280447 ::1 9 typ host tcptype passive","sdpMid":"1"}`,
		`{"candidate":"candidate:3 1 udp 1 x.local 1 typ host","sdpMid":"99","sdpMLineIndex":65535}`,
		`{"candidate":"","sdpMid":"0"}`,
		`{"candidate":"candidate:garbage"}`,
		`"not an object"`,
	} {
		add(&proto.Message{Type: proto.TypeCandidate, Candidate: json.RawMessage(c)})
	}
	yes := true
	for _, m := range []*proto.Message{
		{Type: proto.TypeMute, MuteConfig: &proto.MuteConfig{MuteMicrophone: true}},
		{Type: proto.TypeSubscribe, OpenIDList: []string{"bob"}},
		{Type: proto.TypeSubscribe, OpenIDList: []string{"nobody", "alice", "bob", "bob"}},
		{Type: proto.TypeSubscribe},
		{Type: proto.TypeICERestart},
		{Type: proto.TypePing}, {Type: proto.TypePong},
		{Type: proto.TypePublish, RTCFields: proto.RTCFields{PublishAudio: true, PublishVideo: true}},
		{Type: proto.TypeReceive, RTCFields: proto.RTCFields{Receive: &yes}},
		{Type: proto.TypeHangup},
	} {
		add(m)
	}
	// The messages a group member may send that cannot fail; everything
	// else may be refused, which ends the member (readLoop).
	infallible := map[string]bool{proto.TypeMute: true, proto.TypeSubscribe: true, proto.TypeICERestart: true,
		proto.TypePing: true, proto.TypePong: true, proto.TypeLeave: true}
	f.Fuzz(func(t *testing.T, b []byte) {
		if r.inputs++; r.inputs > fuzzRoomInputs {
			r.reset(t)
		}
		msg, err := proto.Decode(b)
		if err != nil {
			return // readLoop ends the member: proto's FuzzDecode covers Decode
		}
		r.history = append(r.history, string(b))
		if len(r.history) > 8 {
			r.history = r.history[1:]
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("the room's last inputs, oldest first:\n%s", strings.Join(r.history, "\n"))
			}
		})
		err = r.handle(r.alice, msg)
		if err != nil && infallible[msg.Type] {
			t.Fatalf("%s refused: %v", msg.Type, err)
		}
		r.check(t, r.bob, msg.Type) // whatever alice sends, bob goes on
		switch {
		case err != nil:
			// readLoop ends alice here, with reason params. pion takes some
			// answers halfway before it refuses them (the signaling state
			// moved on, the rest not applied): a peer connection only an
			// ended member had. The next inputs get a new room.
			if !r.negotiationConsistent(r.alice) {
				r.reset(t)
			}
		default:
			r.check(t, r.alice, msg.Type)
		}
		r.drain()
	})
}

// negotiationConsistent reports whether m's negotiation is where roomd
// thinks it is: an offer outstanding exactly while its peer connection
// has a local offer.
func (r *fuzzRoom) negotiationConsistent(m *member) bool {
	m.negMu.Lock()
	defer m.negMu.Unlock()
	return m.negotiating == (m.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer)
}

// check is FuzzMemberMessage's property for one member after a message
// from alice: not ended, still in the room, its negotiation consistent;
// then it is given an offer to answer if it has none.
func (r *fuzzRoom) check(t *testing.T, m *member, after string) {
	t.Helper()
	select {
	case <-m.quit:
		t.Fatalf("%s was ended by %s from alice: %s", m.openid, after, m.final)
	default:
	}
	r.s.mu.Lock()
	room := r.s.rooms[m.key]
	in := room != nil && room.members[m.openid] == m
	r.s.mu.Unlock()
	if !in {
		t.Fatalf("%s is no longer in the room after %s from alice", m.openid, after)
	}
	if !r.negotiationConsistent(m) {
		t.Fatalf("%s after %s from alice: negotiating %v, signaling state %s", m.openid, after, m.negotiating, m.pc.SignalingState())
	}
	m.negMu.Lock()
	idle := !m.negotiating
	m.negMu.Unlock()
	if idle {
		m.negotiate() // an offer outstanding for the next input's answer
	}
}
