package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"

	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// family is what differs between a group room, a two-party call and a
// token room; the devices, the media and the state machine are the
// engine's. Group, Call and RTC are the joins a client asks for; answer
// (calls.go) is the listener's side of a call.
type family interface {
	kind() Kind
	// spec is what the join sets up before it connects.
	spec(e *Engine) joinSpec
	// busy is the failure of this join, asked by control client owner,
	// while cur is joining, in a room or leaving (state st).
	busy(owner uint64, cur *session, st State) error
	// connect reaches the room (a call rings and waits for the answer
	// first); h receives its events.
	connect(ctx context.Context, e *Engine, s *session, h Handler) (Room, error)
	// joined runs once the session is in its room, before the join answers.
	joined(e *Engine, s *session)
	// membersChanged hears each new member list after the join.
	membersChanged(e *Engine, s *session, before, now []string)
}

// Join is a join a client asks for: Group, Call or RTC.
type Join interface{ family }

// inRoomFailure is the -1 of a join while another session runs:
// "already in room lobby (state inRoom)".
func inRoomFailure(cur *session, st State) error {
	what := "a room"
	if cur != nil {
		what = map[Kind]string{KindGroup: "room ", KindCall: "call ", KindRTC: "token room "}[cur.kind] + cur.id
	}
	return Fail(ErrInRoom, ReasonBusy, "already in %s (state %s)", what, st)
}

// Group is joinVoIPChat's join of a group room with a signature from the
// operator's backend.
type Group struct {
	GroupID, RoomType string
	Mute              proto.MuteConfig
	NonceStr          string
	TimeStamp         int64
	Signature         string
	// Resume is a kept resume ticket instead of the signature fields: the
	// group room voipd was in when it was killed (Rejoin).
	Resume string
}

func (Group) kind() Kind { return KindGroup }

func (g Group) spec(e *Engine) joinSpec {
	return joinSpec{id: g.GroupID, roomType: g.RoomType, self: e.cfg.Identity.OpenID, mute: g.Mute, videoOn: true}
}

func (Group) busy(_ uint64, cur *session, st State) error { return inRoomFailure(cur, st) }

func (g Group) connect(ctx context.Context, e *Engine, s *session, h Handler) (Room, error) {
	id := e.cfg.Identity
	return e.p.Rooms.Join(ctx, room.JoinParams{
		AppID: id.AppID, OpenID: id.OpenID, GroupID: g.GroupID,
		NonceStr: g.NonceStr, TimeStamp: g.TimeStamp, Signature: g.Signature,
		RoomType: g.RoomType, Mute: g.Mute, Resume: g.Resume,
	}, h)
}

func (Group) joined(*Engine, *session)                             {}
func (Group) membersChanged(*Engine, *session, []string, []string) {}

// RTC is joinRtcRoom's join of a token room. A device with video joins
// with its camera if one opens (Video), and goes on with audio if not.
type RTC struct {
	AppID, RoomID, UserID, Token string
	AutoPublish, AutoSubscribe   bool
	Video                        bool
}

func (RTC) kind() Kind { return KindRTC }

func (r RTC) spec(*Engine) joinSpec {
	roomType := "voice"
	if r.Video {
		roomType = "video"
	}
	return joinSpec{id: r.RoomID, roomType: roomType, self: r.UserID, optionalCamera: true,
		mute: proto.MuteConfig{MuteMicrophone: !r.AutoPublish}, videoOn: r.AutoPublish, receive: r.AutoSubscribe}
}

func (r RTC) busy(_ uint64, cur *session, st State) error {
	if cur != nil && cur.kind == KindRTC {
		return Fail(ErrInRoom, ReasonBusy, "user %s is already in the room %s", cur.self, cur.id)
	}
	return inRoomFailure(cur, st)
}

func (r RTC) connect(ctx context.Context, e *Engine, s *session, h Handler) (Room, error) {
	e.mu.Lock()
	video := s.camera != nil
	e.mu.Unlock()
	return e.p.Rooms.JoinRTC(ctx, room.RTCJoinParams{
		AppID: r.AppID, RoomID: r.RoomID, UserID: r.UserID, Token: r.Token,
		AutoPublish: r.AutoPublish, AutoSubscribe: r.AutoSubscribe, Video: video,
	}, h)
}

func (RTC) joined(*Engine, *session)                             {}
func (RTC) membersChanged(*Engine, *session, []string, []string) {}

// Call is join1v1Chat: this device calls the listener, rings back while
// it rings there, and joins the call's room once it answers.
type Call struct {
	Caller, Listener proto.Party
	RoomType         string
	NoSwitchVoice    bool
}

func (Call) kind() Kind { return KindCall }

func (c Call) spec(e *Engine) joinSpec {
	return joinSpec{id: "calling:" + c.Listener.OpenID, roomType: c.RoomType, self: e.cfg.Identity.OpenID,
		noSwitchVoice: c.NoSwitchVoice, videoOn: true}
}

func (Call) busy(owner uint64, cur *session, st State) error { return callBusy(owner, cur, st) }

func (c Call) connect(ctx context.Context, e *Engine, s *session, h Handler) (Room, error) {
	e.mu.Lock()
	speaker := s.playback
	e.mu.Unlock()
	stop := media.Ring(speaker, media.Ringback, nil, e.vol)
	id := e.cfg.Identity
	nonceStr, ts, sig := e.sign("call:" + c.Listener.OpenID)
	t, err := e.p.Rooms.Call(ctx, room.CallParams{
		AppID: id.AppID, NonceStr: nonceStr, TimeStamp: ts, Signature: sig,
		Caller: c.Caller, Listener: c.Listener, RoomType: c.RoomType, RingTimeout: e.cfg.Call.RingTimeout.D(),
	})
	stop()
	if err != nil {
		return nil, err
	}
	return e.joinCall(ctx, s, t, h)
}

func (Call) joined(e *Engine, s *session) { e.watchCallPeer(s) }

func (Call) membersChanged(e *Engine, s *session, before, now []string) {
	callMembersChanged(e, s, before, now)
}

// answer is the listener's side of a call: accepted, it joins the call's
// room with the ticket the answer brings.
type answer struct {
	callID, roomType string
	presence         Presence
}

func (answer) kind() Kind { return KindCall }

func (a answer) spec(e *Engine) joinSpec {
	return joinSpec{id: a.callID, roomType: a.roomType, self: e.cfg.Identity.OpenID, videoOn: true}
}

func (answer) busy(owner uint64, cur *session, st State) error { return callBusy(owner, cur, st) }

func (a answer) connect(ctx context.Context, e *Engine, s *session, h Handler) (Room, error) {
	t, err := a.presence.Answer(ctx, a.callID, true)
	if err != nil {
		return nil, err
	}
	return e.joinCall(ctx, s, t, h)
}

func (answer) joined(e *Engine, s *session) { e.watchCallPeer(s) }

func (answer) membersChanged(e *Engine, s *session, before, now []string) {
	callMembersChanged(e, s, before, now)
}

// resumedCall is an answered call's room again after a restart of voipd:
// its seat, with the resume ticket kept (keep.go).
type resumedCall struct {
	ticket   room.CallTicket
	roomType string
}

func (resumedCall) kind() Kind { return KindCall }

func (r resumedCall) spec(e *Engine) joinSpec {
	return joinSpec{id: r.ticket.CallID, roomType: r.roomType, self: e.cfg.Identity.OpenID, videoOn: true}
}

func (resumedCall) busy(owner uint64, cur *session, st State) error { return callBusy(owner, cur, st) }

func (r resumedCall) connect(ctx context.Context, e *Engine, s *session, h Handler) (Room, error) {
	t := r.ticket
	return e.joinCall(ctx, s, &t, h)
}

func (resumedCall) joined(e *Engine, s *session) { e.watchCallPeer(s) }

func (resumedCall) membersChanged(e *Engine, s *session, before, now []string) {
	callMembersChanged(e, s, before, now)
}

// callBusy: a call while in a call is -20002 from the client that holds it
// and -20003 from another; while in another room, -1.
func callBusy(owner uint64, cur *session, st State) error {
	switch {
	case cur == nil || cur.kind != KindCall:
		return inRoomFailure(cur, st)
	case cur.owner != owner:
		return Fail(ErrCallHeld, ReasonBusy, "another control client holds call %s", cur.id)
	}
	return Fail(ErrInCall, ReasonBusy, "already in call %s", cur.id)
}

// joinCall joins an answered call's room. A device with a camera joins
// ready for video even in a voice call, so the call can switch to video
// later (SwitchCall) without a new negotiation.
func (e *Engine) joinCall(ctx context.Context, s *session, t *room.CallTicket, h Handler) (Room, error) {
	e.mu.Lock()
	s.callID, s.id, s.callRoom = t.CallID, t.CallID, t.RoomID
	e.mu.Unlock()
	if e.HasCamera() {
		c := *t
		c.RoomType = "video"
		t = &c
	}
	return e.p.Rooms.JoinCall(ctx, t, e.cfg.Identity.OpenID, h)
}

// A call ends when the other side leaves.
func callMembersChanged(e *Engine, s *session, before, now []string) {
	if len(before) < 2 || len(now) >= 2 {
		return
	}
	e.mu.Lock()
	if e.s == s && e.state == Joining {
		// The join is finishing: watchCallPeer, which it starts, ends
		// the call then (peerSeen).
		e.mu.Unlock()
		return
	}
	reconnecting := e.s == s && e.state == Reconnecting
	var grace time.Duration
	if s.room != nil {
		grace = s.room.Grace()
	}
	e.mu.Unlock()
	if reconnecting && grace > 0 {
		// Back in a room the server re-created after a restart: it lists
		// the members back so far, and the other side has the grace to
		// come back too.
		e.watchCallPeerBack(s, grace)
		return
	}
	go e.leave(context.Background(), s, EndRemote, "the other side left")
}

// watchCallPeerBack ends a call whose other side is not back in its room
// within grace.
func (e *Engine) watchCallPeerBack(s *session, grace time.Duration) {
	e.log.Info("waiting for the other side to come back into the call", "call", s.id, "grace", grace)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for deadline := time.Now().Add(grace); time.Now().Before(deadline); <-tick.C {
			e.mu.Lock()
			n, here := len(s.members), e.s == s && (e.state == InRoom || e.state == Reconnecting)
			e.mu.Unlock()
			if n >= 2 || !here {
				return
			}
		}
		e.leave(context.Background(), s, EndRemote, "the other side did not come back")
	}()
}

// callPeerWait bounds how long a call waits for the other side to enter
// its room after the answer; roomd keeps a lone member forever.
const callPeerWait = 15 * time.Second

// watchCallPeer ends a call whose other side never arrives, or arrived
// and left again while the join was finishing (a hang-up at the moment of
// the answer: its member lists came before this session was in the room,
// and the last one, without it, is the one the join kept).
func (e *Engine) watchCallPeer(s *session) {
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for deadline := time.Now().Add(callPeerWait); time.Now().Before(deadline); <-tick.C {
			e.mu.Lock()
			n, here, seen := len(s.members), e.s == s && e.state == InRoom, s.peerSeen
			e.mu.Unlock()
			if n >= 2 || !here {
				return
			}
			if seen {
				e.leave(context.Background(), s, EndRemote, "the other side left")
				return
			}
		}
		e.log.Warn("the other side never joined the call", "call", s.id)
		e.leave(context.Background(), s, EndNetwork, "the other side never joined")
	}()
}

// sign signs purpose ("1v1:<openid>" or "call:<listener>") with this
// device's session key: the device proves it owns its openid.
func (e *Engine) sign(purpose string) (nonceStr string, ts int64, sig string) {
	id := e.cfg.Identity
	b := make([]byte, 8)
	rand.Read(b)
	nonceStr, ts = hex.EncodeToString(b), time.Now().Unix()
	return nonceStr, ts, proto.Signature(id.AppID, purpose, nonceStr, ts, id.SessionKey)
}

// clone copies a member list for an answer or an event.
func clone(l []string) []string { return nonNil(slices.Clone(l)) }
