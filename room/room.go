// Package room is the client side of the room protocol (package proto): it
// joins a roomd room over a WebSocket, answers the server's offers with one
// pion PeerConnection, sends this device's audio on one track and hands the
// other members' audio tracks to a Handler. voipd's daemon is its user.
package room

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
)

// Config says where the room server is and how to reach it.
type Config struct {
	URL         string // ws://host:port/ws or wss://host:port/ws
	TLS         *tls.Config
	ICEServers  []webrtc.ICEServer // used besides those the server hands out
	JoinTimeout time.Duration      // default 10s: the whole join, from dial to media connected
	Logger      *slog.Logger
	// MediaTimeout: the media connection counts as failed, and is
	// restarted (restart.go), after this long without a packet from the
	// server (default 30 s, rtpcodecs.DefaultMediaTimeout).
	MediaTimeout time.Duration

	// A video join's bitrate in bit/s (see Session.OnBitrateEstimate): the
	// video target the send-side estimate starts from and its bounds.
	// Zero means 800 kbit/s, 50 kbit/s and 4 Mbit/s.
	VideoBitrate, MinVideoBitrate, MaxVideoBitrate int

	// settings, when set, adjusts the sessions' SettingEngine (tests give
	// the ICE agent a lossy network; bwe_export_test.go).
	settings func(*webrtc.SettingEngine)
}

// JoinParams is a signed join, as the operator's backend issued it.
// RoomType "video" also publishes this device's video (Session.VideoTrack)
// and receives others' (VideoHandler), if the room is a video room.
type JoinParams struct {
	AppID, OpenID, GroupID, NonceStr string
	TimeStamp                        int64
	Signature, RoomType              string
	Mute                             proto.MuteConfig
	// Resume, when set, is a resume ticket (Session.Ticket) instead of
	// NonceStr, TimeStamp and Signature: the device back to its seat after
	// a restart of its own.
	Resume string
}

// Handler receives a session's events. Calls come from the session's
// goroutines (its reader, pion's track callbacks) and must return quickly;
// AudioTrack may start a goroutine that reads the track until it errs.
type Handler interface {
	MembersChanged(members []string)
	// AudioTrack: a member's audio arrived (or arrived again after a
	// renegotiation; the new track replaces the old one).
	AudioTrack(member string, t *webrtc.TrackRemote, r *webrtc.RTPReceiver)
	// TrackEnded: the member's audio stopped being forwarded (it left).
	TrackEnded(member string)
	// Interrupted: the room was lost after Join returned (server closed,
	// network, kicked, duplicate join). Called at most once, never after
	// Leave.
	Interrupted(err error)
}

// LossHandler is what a Handler implements besides to hear, from the
// room server's receiver reports (about one a second), the fraction (0..1)
// of this device's audio lost on the way to it: the Opus encoder sizes its
// in-band FEC by it. Called on the audio sender's RTCP goroutine.
type LossHandler interface {
	UplinkLoss(fraction float64)
}

// VideoHandler is what a Handler implements besides to get video (an
// optional interface, so voice-only handlers stay as they are). The calls
// come as Handler's do.
type VideoHandler interface {
	// VideoTrack: a member's VP8 arrived (again after a renegotiation or a
	// new subscription: the new track replaces the old one). Read it until
	// it errs; RequestKeyframe when a frame was lost.
	VideoTrack(member string, t *webrtc.TrackRemote, r *webrtc.RTPReceiver)
	// VideoTrackEnded: the member's video stopped being forwarded (it
	// left, or the subscription no longer selects it).
	VideoTrackEnded(member string)
	// VideoMembersChanged: the members publishing video now, in join order
	// (onVoIPVideoMembersChanged).
	VideoMembersChanged(members []string)
}

// Error is a failed join or a lost room: Reason is one of proto's Reason*
// words (unreachable, timeout, signature, timestamp, replay, room_full,
// params, duplicate, shutdown, internal).
type Error struct {
	Reason string
	Msg    string
	// final: the server ended this member and gave its seat up (its
	// media not back within the grace): no reconnect can bring it back.
	final bool
}

func (e *Error) Error() string { return e.Msg }

// Redirect is the answer of a gateway (roomd in gateway mode, a fleet on
// LiveKit) to a join: the join was verified, and the room is at URL, to
// be joined with Token (package room/lk). Resume and Grace are the
// member's ticket for coming back and how long its seat is kept. It is
// returned as Join's error; no Session was made.
type Redirect struct {
	URL, Token, Resume string
	Grace              time.Duration
	ExpireAt           int64 // a token room's: when its token ends the stay (Unix seconds; 0: never)
}

func (r *Redirect) Error() string {
	return "room: the room server sends this join to LiveKit at " + r.URL
}

const defaultJoinTimeout = 10 * time.Second

// Join connects, sends the signed join and returns once the server said
// joined and the media connection (ICE and DTLS) is up. It fails with an
// *Error, or with an error wrapping ctx.Err() when ctx ends first.
func Join(ctx context.Context, cfg Config, p JoinParams, h Handler) (*Session, error) {
	return joinWith(ctx, cfg, p, h, nil)
}

// joinWith is Join sending joinMsg instead of the group join built from p
// when it is not nil (a call room's ticket join, call.go).
func joinWith(ctx context.Context, cfg Config, p JoinParams, h Handler, joinMsg *proto.Message) (*Session, error) {
	if h == nil {
		return nil, &Error{Reason: proto.ReasonParams, Msg: "room: nil Handler"}
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, &Error{Reason: proto.ReasonParams, Msg: fmt.Sprintf("room: URL %q is not a ws:// or wss:// URL", cfg.URL)}
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = defaultJoinTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	joinCtx, cancel := context.WithTimeout(ctx, cfg.JoinTimeout)
	defer cancel()

	s := newSession(cfg, u, p, h)
	s.joinMsg = joinMsg
	err = s.join(joinCtx)
	if err == nil {
		if err = s.markLive(); err == nil {
			return s, nil
		}
	}
	s.close()
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("room: join cancelled: %w", ctx.Err())
	case joinCtx.Err() != nil:
		var re *Error
		if errors.As(err, &re) && re.Reason != proto.ReasonTimeout {
			return nil, re // the server's answer came just as time ran out
		}
		return nil, &Error{Reason: proto.ReasonTimeout, Msg: fmt.Sprintf("room: no answer from %s within %s", u.Host, cfg.JoinTimeout)}
	}
	return nil, err
}

// join runs the join on the session's first link: dial, send join, wait
// for joined and connected.
func (s *Session) join(ctx context.Context) error {
	l := newLink()
	s.mu.Lock()
	s.l = l
	s.mu.Unlock()
	if err := s.dial(ctx, l); err != nil {
		return err
	}
	if err := s.write(cmp.Or(s.joinMsg, &proto.Message{
		Type:       proto.TypeJoin,
		Kind:       proto.KindVoIP,
		AppID:      s.params.AppID,
		OpenID:     s.params.OpenID,
		GroupID:    s.params.GroupID,
		NonceStr:   s.params.NonceStr,
		TimeStamp:  s.params.TimeStamp,
		Signature:  s.params.Signature,
		RoomType:   s.params.RoomType,
		MuteConfig: &s.params.Mute,
		Resume:     s.params.Resume,
	})); err != nil {
		return &Error{Reason: proto.ReasonUnreachable, Msg: "room: sending join: " + err.Error()}
	}
	select {
	case <-l.up:
		return nil
	case <-l.down:
		return l.err
	case <-s.failed:
		return s.failErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dial opens link l's WebSocket and starts its reader.
func (s *Session) dial(ctx context.Context, l *link) error {
	conn, resp, err := DialWebSocket(ctx, s.url.String(), s.cfg.TLS, nil, 4096)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return dialError(s.url.Host, resp, err)
	}
	conn.SetReadLimit(proto.MaxMessageBytes)
	s.writeMu.Lock()
	l.conn = conn
	s.writeMu.Unlock()
	go s.readLoop(l)
	return nil
}

// dialError maps a failed WebSocket dial to a reason: nobody listening,
// no route or no such host are "unreachable"; a server that answers HTTP
// but refuses the upgrade is "unreachable" too (it is not a roomd /ws).
func dialError(host string, resp *http.Response, err error) error {
	msg := fmt.Sprintf("room: cannot connect to %s: %v", host, err)
	if resp != nil {
		msg = fmt.Sprintf("room: %s refused the WebSocket upgrade: %s", host, resp.Status)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Reason: proto.ReasonTimeout, Msg: msg}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		msg = fmt.Sprintf("room: nothing listens at %s", host)
	}
	return &Error{Reason: proto.ReasonUnreachable, Msg: msg}
}
