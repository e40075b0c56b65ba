package room

import (
	"context"
	"sync"
	"time"

	"github.com/voipd/voipd/proto"
)

// Token rooms (voipd's RtcRoomContext): JoinRTC joins with a Volcengine-
// format token instead of a signature. The Session is the same as a group
// room's (AudioTrack, VideoTrack, VideoSender, Members, Leave); members are
// userIds. What differs:
//
//   - Publishing is decided by the server: the token must grant
//     PublishStream and the room must have a publisher slot free
//     (CanPublish). Until SetPublishing turns a kind on (or autoPublish did
//     at the join), what the caller writes to AudioTrack/VideoTrack is
//     dropped in this process, before pion's interceptors: nothing reaches
//     the wire, and the server forwards nothing of it either.
//   - With autoSubscribe false the server forwards nothing to this member
//     until SetSubscribing(true).
//   - The server warns before the token expires (RTCHandler.TokenExpiring)
//     and then removes the member (RTCHandler.Removed("token_expired"),
//     then Handler.Interrupted).

// RTCJoinParams is a token join, as the operator's backend issued it.
type RTCJoinParams struct {
	AppID, RoomID, UserID, Token string
	AutoPublish, AutoSubscribe   bool // the seed's roomConfig (the daemon passes true, true by default)
	Video                        bool // publish a VP8 track too (the device has a camera for it)
}

// RTCHandler is what a Handler implements besides to hear of token events
// (optional, like VideoHandler); calls come as Handler's do.
type RTCHandler interface {
	// TokenExpiring: the server's warning, RTCTokenWarning (30 s by
	// default) before the token expires at at. A new token needs a new
	// join (Volcengine's updateToken is not part of the protocol).
	TokenExpiring(at time.Time)
	// Removed: the server removed this member: "token_expired",
	// "duplicate" (the same userId joined elsewhere) or "kicked". It comes
	// just before Interrupted (whose *Error has the same Reason).
	Removed(reason string)
}

// rtcSession is a token-room session's state; Session.rtc, nil otherwise.
// A reconnect makes a new one from the new joined.
type rtcSession struct {
	gate gate // what may go out now: audio and video

	mu         sync.Mutex // one publish request at a time
	canPublish bool       // under Session.mu: the server gave a publisher slot
	replies    chan *proto.Message
}

// rtcWant is what the caller last asked of a token room, restated after a
// reconnect; under Session.mu.
type rtcWant struct {
	audio, video bool // publishing
	receive      bool
}

// JoinRTC joins a token room and returns once the server said joined and
// the media connection is up. *Error reasons: "token_invalid" (malformed,
// bad signature, another app/room/user, an app that is not an RTC app),
// "token_expired", "room_full" (RTCMaxMembers, 50 by default), "params",
// "unreachable", "timeout", "shutdown", "internal". A room whose publisher
// slots (30 by default) are taken is no reason to refuse the join: the
// member joins without a slot (CanPublish false) and SetPublishing tries
// again for one, failing with "publishers_full".
func JoinRTC(ctx context.Context, cfg Config, p RTCJoinParams, h Handler) (*Session, error) {
	for _, f := range []struct{ name, v string }{{"appId", p.AppID}, {"roomId", p.RoomID}, {"userId", p.UserID}, {"token", p.Token}} {
		if f.v == "" {
			return nil, &Error{Reason: proto.ReasonParams, Msg: "room: RTCJoinParams lacks " + f.name}
		}
	}
	roomType := proto.RoomVoice
	if p.Video {
		roomType = proto.RoomVideo
	}
	autoPublish, autoSubscribe := p.AutoPublish, p.AutoSubscribe
	msg := &proto.Message{Type: proto.TypeJoin, Kind: proto.KindRTC, AppID: p.AppID, RoomType: roomType,
		CallFields: proto.CallFields{RoomID: p.RoomID},
		RTCFields: proto.RTCFields{UserID: p.UserID, Token: p.Token,
			AutoPublish: &autoPublish, AutoSubscribe: &autoSubscribe}}
	// GroupID and OpenID name the room and the member in logs and
	// streams, as in group rooms; the token is never logged.
	jp := JoinParams{AppID: p.AppID, OpenID: p.UserID, GroupID: p.RoomID, RoomType: roomType}
	return joinWith(ctx, cfg, jp, h, msg)
}

// rtcJoined sets up a token-room session from the server's joined, before
// its PeerConnection exists (startPeer gates the tracks with it).
func (s *Session) rtcJoined(msg *proto.Message) {
	if s.joinMsg == nil || s.joinMsg.Kind != proto.KindRTC {
		return
	}
	r := &rtcSession{replies: make(chan *proto.Message, 1)}
	r.gate.audio.Store(msg.PublishAudio)
	r.gate.video.Store(msg.PublishVideo)
	s.mu.Lock()
	r.canPublish = proto.BoolOr(msg.CanPublish, false)
	first := s.rtc == nil
	s.rtc = r
	if first { // what the join asked for, until the caller asks otherwise
		s.want = rtcWant{audio: msg.PublishAudio, video: msg.PublishVideo, receive: proto.BoolOr(s.joinMsg.AutoSubscribe, true)}
	}
	s.mu.Unlock()
}

// rtcRejoinLocked is a token room's join again after a dropped link: the
// same token, publishing and receiving as the caller last asked. Called
// under s.mu.
func (s *Session) rtcRejoinLocked() *proto.Message {
	msg := *s.joinMsg
	publish, receive := s.want.audio || s.want.video, s.want.receive
	msg.AutoPublish, msg.AutoSubscribe = &publish, &receive
	return &msg
}

// rtcRestate asks the server, after a reconnect, for the publishing the
// caller last asked for where the rejoin's autoPublish gave another (one
// kind of two, or none for a slot just regained).
func (s *Session) rtcRestate() {
	r := s.rtcState()
	if r == nil {
		return
	}
	s.mu.Lock()
	want := s.want
	s.mu.Unlock()
	if r.gate.audio.Load() == want.audio && r.gate.video.Load() == want.video {
		return
	}
	if err := s.SetPublishing(want.audio, want.video); err != nil {
		s.log.Warn("restating what this member publishes", "err", err)
	}
}

func (s *Session) rtcState() *rtcSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rtc
}

// CanPublish reports whether this member may publish: its token grants
// PublishStream and the server gave it a publisher slot (at the join, or
// since by SetPublishing). False outside token rooms.
func (s *Session) CanPublish() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rtc != nil && s.rtc.canPublish
}

// rtcRequestWait bounds SetPublishing's wait for the server's answer.
const rtcRequestWait = 5 * time.Second

// SetPublishing starts or stops sending this device's audio and video
// (changeAudioCapture, changeVideoCapture, a later publish after
// autoPublish false). *Error reasons: "permission" (the token lacks
// PublishStream), "publishers_full" (no slot was free), "params" (video
// on a join without Video, or not a token room), "unreachable", "timeout".
// On an error nothing changes. Turning both off keeps the slot.
func (s *Session) SetPublishing(audio, video bool) error {
	r := s.rtcState()
	if r == nil {
		return &Error{Reason: proto.ReasonParams, Msg: "room: SetPublishing is for token rooms (JoinRTC)"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// Stopping is local at once: nothing more goes out even before the
	// server's answer.
	if !audio {
		r.gate.audio.Store(false)
	}
	if !video {
		r.gate.video.Store(false)
	}
	select {
	case <-r.replies: // the late answer to a request that timed out
	default:
	}
	err := s.write(&proto.Message{Type: proto.TypePublish,
		RTCFields: proto.RTCFields{PublishAudio: audio, PublishVideo: video}})
	if err != nil {
		return &Error{Reason: proto.ReasonUnreachable, Msg: "room: sending publish: " + err.Error()}
	}
	var reply *proto.Message
	select {
	case reply = <-r.replies:
	case <-s.failed:
		return &Error{Reason: proto.ReasonUnreachable, Msg: "room: the room was lost before the server answered publish"}
	case <-time.After(rtcRequestWait):
		return &Error{Reason: proto.ReasonTimeout, Msg: "room: no answer to publish"}
	}
	if reply.Reason != "" {
		return &Error{Reason: reply.Reason, Msg: "room: publish refused: " + reply.Message}
	}
	s.mu.Lock()
	r.canPublish = proto.BoolOr(reply.CanPublish, r.canPublish)
	s.want.audio, s.want.video = audio, video
	s.mu.Unlock()
	r.gate.audio.Store(reply.PublishAudio)
	r.gate.video.Store(reply.PublishVideo)
	return nil
}

// SetSubscribing turns receiving the publishers' media on or off (a join
// with AutoSubscribe false starts off; the daemon exposes this). The
// server renegotiates: AudioTrack/VideoTrack, or TrackEnded/VideoTrackEnded
// follow.
func (s *Session) SetSubscribing(on bool) error {
	if s.rtcState() == nil {
		return &Error{Reason: proto.ReasonParams, Msg: "room: SetSubscribing is for token rooms (JoinRTC)"}
	}
	if err := s.write(&proto.Message{Type: proto.TypeReceive, RTCFields: proto.RTCFields{Receive: &on}}); err != nil {
		return &Error{Reason: proto.ReasonUnreachable, Msg: "room: sending receive: " + err.Error()}
	}
	s.mu.Lock()
	s.want.receive = on
	s.mu.Unlock()
	return nil
}

// handleRTC handles the token-room messages from the server.
func (s *Session) handleRTC(msg *proto.Message) {
	r := s.rtcState()
	if r == nil {
		return
	}
	switch msg.Type {
	case proto.TypePublished:
		select {
		case r.replies <- msg:
		default: // an answer nobody waits for any more (it timed out)
		}
	case proto.TypeTokenExpiring:
		s.log.Info("token expiring", "expireAt", msg.ExpireAt)
		if rh, ok := s.h.(RTCHandler); ok {
			rh.TokenExpiring(time.Unix(msg.ExpireAt, 0))
		}
	}
}

// notifyRemoved tells an RTCHandler that the server removed this member,
// before Interrupted reports the loss.
func (s *Session) notifyRemoved(err error) {
	re, ok := err.(*Error)
	rh, isRTC := s.h.(RTCHandler)
	if !ok || !isRTC || s.rtcState() == nil {
		return
	}
	switch re.Reason {
	case proto.ReasonTokenExpired, proto.ReasonDuplicate, proto.ReasonKicked:
		rh.Removed(re.Reason)
	}
}
