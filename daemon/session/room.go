package session

import (
	"context"
	"errors"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/room/lk"
)

// Connector reaches room servers: it joins the three families' rooms,
// places calls and registers for incoming ones. Rooms is package room's
// Connector; tests give the engine fakes.
type Connector interface {
	Join(ctx context.Context, p room.JoinParams, h Handler) (Room, error)
	JoinRTC(ctx context.Context, p room.RTCJoinParams, h Handler) (Room, error)
	// Call rings the listener and returns once it answered.
	Call(ctx context.Context, p room.CallParams) (*room.CallTicket, error)
	JoinCall(ctx context.Context, t *room.CallTicket, openid string, h Handler) (Room, error)
	Register(ctx context.Context, p room.PresenceParams, h room.CallHandler) (Presence, error)
}

// Room is a joined room.
type Room interface {
	Members() []string
	// AudioOut takes this device's Opus RTP; AudioLevelExtID is the
	// negotiated RFC 6464 extension id (0: none).
	AudioOut() media.RTPWriter
	AudioLevelExtID() uint8
	// VideoOut takes this device's VP8 RTP, nil when the room takes no
	// video from it; VideoFeedback is the RTCP about that track.
	VideoOut() media.RTPWriter
	VideoFeedback() media.RTCPReader
	// OnBitrateEstimate sets where the send-side estimate goes.
	OnBitrateEstimate(fn func(bps int))
	SetMute(proto.MuteConfig) error
	SubscribeVideo(members []string) error
	RequestKeyframe(member string) error
	// SetPublishing and SetSubscribing are token rooms' (Douyin's capture
	// and subscribe states).
	SetPublishing(audio, video bool) error
	SetSubscribing(on bool) error
	Stats() room.Stats
	// Ticket is the room's resume ticket ("" where the server gives none);
	// Grace how long the server keeps a member's seat after its connection
	// drops.
	Ticket() string
	Grace() time.Duration
	// Leave says goodbye and closes; the Handler hears nothing more.
	Leave(ctx context.Context) error
}

// Presence is a registration for incoming calls.
type Presence interface {
	Answer(ctx context.Context, callID string, accept bool) (*room.CallTicket, error)
	Busy(ctx context.Context, callID string) error
	Close() error
}

// Handler receives a room's events (package room's Handler, VideoHandler
// and RTCHandler with tracks as media readers). Calls come from the room's
// goroutines and return quickly.
type Handler interface {
	MembersChanged(members []string)
	AudioTrack(member string, t media.RTPReader)
	TrackEnded(member string)
	VideoTrack(member string, t media.RTPReader)
	VideoTrackEnded(member string)
	VideoMembersChanged(members []string)
	// Interrupted: the room was lost after it was joined (for good: a
	// group room reconnects first).
	Interrupted(err error)
	// Reconnecting: the connection to the room server was lost and the
	// room client is getting back into the seat; Reconnected: it is back.
	Reconnecting(err error)
	Reconnected()
	TokenExpiring(at time.Time)
	Removed(reason string)
	// UplinkLoss: the fraction (0..1) of the sent audio the room server's
	// last receiver report says was lost.
	UplinkLoss(fraction float64)
}

// Rooms is the Connector of package room, reaching the room server of cfg.
type Rooms struct{ Config room.Config }

func (r Rooms) Join(ctx context.Context, p room.JoinParams, h Handler) (Room, error) {
	s, err := room.Join(ctx, r.Config, p, roomHandler{h})
	var rd *room.Redirect
	if errors.As(err, &rd) { // a gateway: the room is on LiveKit
		return r.joinLiveKit(ctx, rd, p, h)
	}
	return wrap(s, err)
}

func (r Rooms) JoinRTC(ctx context.Context, p room.RTCJoinParams, h Handler) (Room, error) {
	s, err := room.JoinRTC(ctx, r.Config, p, roomHandler{h})
	var rd *room.Redirect
	if errors.As(err, &rd) { // a gateway: the token room is on LiveKit
		rejoin := func(ctx context.Context, _ string) (*room.Redirect, error) {
			return redirected(room.JoinRTC(ctx, r.Config, p, nopRoomHandler{})) // the token again
		}
		lp := r.liveKitParams(rd, p.UserID, room.JoinParams{})
		lp.RTC, lp.AutoPublish, lp.AutoSubscribe, lp.Video = true, p.AutoPublish, p.AutoSubscribe, p.Video
		if rd.ExpireAt != 0 {
			lp.ExpireAt = time.Unix(rd.ExpireAt, 0)
		}
		return r.joinRoom(ctx, lp, rejoin, h)
	}
	return wrap(s, err)
}

// joinLiveKit joins the LiveKit room a gateway sent a group join to
// (package room/lk), as the same member, with the room client's settings.
// When the LiveKit session is lost, the room asks the gateway at room.url
// again, with the member's resume ticket, for a fresh token, and joins
// again.
func (r Rooms) joinLiveKit(ctx context.Context, rd *room.Redirect, p room.JoinParams, h Handler) (Room, error) {
	rejoin := func(ctx context.Context, ticket string) (*room.Redirect, error) {
		back := room.JoinParams{AppID: p.AppID, OpenID: p.OpenID, GroupID: p.GroupID, RoomType: p.RoomType, Mute: p.Mute, Resume: ticket}
		return redirected(room.Join(ctx, r.Config, back, nopRoomHandler{}))
	}
	return r.liveKitRoom(ctx, rd, p.OpenID, p, rejoin, h)
}

func (r Rooms) liveKitRoom(ctx context.Context, rd *room.Redirect, identity string, p room.JoinParams, rejoin lk.Rejoin, h Handler) (Room, error) {
	return r.joinRoom(ctx, r.liveKitParams(rd, identity, p), rejoin, h)
}

// liveKitParams are the LiveKit join of rd for identity, with the room
// client's settings.
func (r Rooms) liveKitParams(rd *room.Redirect, identity string, p room.JoinParams) lk.Params {
	return lk.Params{URL: rd.URL, Token: rd.Token, Identity: identity, Resume: rd.Resume, Grace: rd.Grace,
		Mute: p.Mute, Video: p.RoomType == proto.RoomVideo, ICEServers: r.Config.ICEServers, JoinTimeout: r.Config.JoinTimeout,
		MediaTimeout: r.Config.MediaTimeout, Logger: r.Config.Logger,
		VideoBitrate: r.Config.VideoBitrate, MinVideoBitrate: r.Config.MinVideoBitrate, MaxVideoBitrate: r.Config.MaxVideoBitrate}
}

func (r Rooms) joinRoom(ctx context.Context, lp lk.Params, rejoin lk.Rejoin, h Handler) (Room, error) {
	lr, err := lk.JoinRoom(ctx, lp, rejoin, roomHandler{h})
	if err != nil {
		return nil, err
	}
	return onLiveKit{lr}, nil
}

// nopRoomHandler is the handler of a rejoin's room.Join, which a gateway
// answers with a redirect: it never has a room to report on.
type nopRoomHandler struct{}

func (nopRoomHandler) MembersChanged([]string)                                     {}
func (nopRoomHandler) AudioTrack(string, *webrtc.TrackRemote, *webrtc.RTPReceiver) {}
func (nopRoomHandler) TrackEnded(string)                                           {}
func (nopRoomHandler) Interrupted(error)                                           {}

func (r Rooms) Call(ctx context.Context, p room.CallParams) (*room.CallTicket, error) {
	return room.Call(ctx, r.Config, p)
}

func (r Rooms) JoinCall(ctx context.Context, t *room.CallTicket, openid string, h Handler) (Room, error) {
	s, err := room.JoinCall(ctx, r.Config, t, openid, roomHandler{h})
	var rd *room.Redirect
	if errors.As(err, &rd) { // a gateway: the call room is on LiveKit
		rejoin := func(ctx context.Context, ticket string) (*room.Redirect, error) {
			back := *t
			back.Ticket, back.Resume = "", ticket
			return redirected(room.JoinCall(ctx, r.Config, &back, openid, nopRoomHandler{}))
		}
		return r.liveKitRoom(ctx, rd, openid, room.JoinParams{RoomType: t.RoomType}, rejoin, h)
	}
	return wrap(s, err)
}

// redirected is a rejoin's outcome: the gateway's redirect, or why there
// is none.
func redirected(s *room.Session, err error) (*room.Redirect, error) {
	var rd *room.Redirect
	switch {
	case errors.As(err, &rd):
		return rd, nil
	case err == nil: // room.url is a roomd now, not a gateway
		s.Leave(context.Background())
		return nil, &room.Error{Reason: proto.ReasonParams, Msg: "room: the room server no longer sends joins to LiveKit"}
	}
	return nil, err
}

func (r Rooms) Register(ctx context.Context, p room.PresenceParams, h room.CallHandler) (Presence, error) {
	pr, err := room.Register(ctx, r.Config, p, h)
	if err != nil {
		return nil, err
	}
	return pr, nil
}

func wrap(s *room.Session, err error) (Room, error) {
	if err != nil {
		return nil, err
	}
	return joined{s}, nil
}

// joined shows a *room.Session as a Room: pion's track types as media's
// small interfaces (a nil track as a nil interface).
type joined struct{ *room.Session }

func (j joined) AudioOut() media.RTPWriter { return j.AudioTrack() }

func (j joined) VideoOut() media.RTPWriter {
	if t := j.VideoTrack(); t != nil {
		return t
	}
	return nil
}

// VideoFeedback reads the video sender's RTCP across the room client's
// reconnects (a new link has a new sender).
func (j joined) VideoFeedback() media.RTCPReader {
	if f := j.Session.VideoFeedback(); f != nil {
		return f
	}
	return nil
}

// onLiveKit shows a *lk.Room as a Room: a member of a group room, a call
// or a token room on LiveKit.
type onLiveKit struct{ *lk.Room }

func (o onLiveKit) AudioOut() media.RTPWriter { return o.AudioTrack() }

func (o onLiveKit) VideoOut() media.RTPWriter {
	if t := o.VideoTrack(); t != nil {
		return t
	}
	return nil
}

func (o onLiveKit) VideoFeedback() media.RTCPReader {
	if f := o.Room.VideoFeedback(); f != nil {
		return f
	}
	return nil
}

// roomHandler is a Handler as package room calls it.
type roomHandler struct{ h Handler }

func (r roomHandler) MembersChanged(m []string) { r.h.MembersChanged(m) }
func (r roomHandler) AudioTrack(member string, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	r.h.AudioTrack(member, t)
}
func (r roomHandler) TrackEnded(member string) { r.h.TrackEnded(member) }
func (r roomHandler) VideoTrack(member string, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	r.h.VideoTrack(member, t)
}
func (r roomHandler) VideoTrackEnded(member string)  { r.h.VideoTrackEnded(member) }
func (r roomHandler) VideoMembersChanged(m []string) { r.h.VideoMembersChanged(m) }
func (r roomHandler) Interrupted(err error)          { r.h.Interrupted(err) }
func (r roomHandler) TokenExpiring(at time.Time)     { r.h.TokenExpiring(at) }
func (r roomHandler) Removed(reason string)          { r.h.Removed(reason) }
func (r roomHandler) Reconnecting(err error)         { r.h.Reconnecting(err) }
func (r roomHandler) Reconnected()                   { r.h.Reconnected() }
func (r roomHandler) UplinkLoss(fraction float64)    { r.h.UplinkLoss(fraction) }

var (
	_ lk.Handler            = roomHandler{}
	_ lk.VideoHandler       = roomHandler{}
	_ lk.ReconnectHandler   = roomHandler{}
	_ lk.RTCHandler         = roomHandler{}
	_ Room                  = onLiveKit{}
	_ room.Handler          = roomHandler{}
	_ room.VideoHandler     = roomHandler{}
	_ room.RTCHandler       = roomHandler{}
	_ room.ReconnectHandler = roomHandler{}
	_ room.LossHandler      = roomHandler{}
)
