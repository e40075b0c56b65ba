package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
)

const (
	readWait  = 45 * time.Second // roomd pings every 15s
	writeWait = 5 * time.Second
)

// Session is one joined room.
type Session struct {
	cfg    Config
	url    *url.URL
	params JoinParams
	h      Handler
	log    *slog.Logger

	writeMu sync.Mutex // gorilla allows one writer at a time

	track *webrtc.TrackLocalStaticRTP // this device's audio, the same across links

	failed    chan struct{} // closed on the session's final failure
	failOnce  sync.Once
	closed    chan struct{} // closed when the session ends: Leave, or its final failure
	closeOnce sync.Once
	leaving   atomic.Bool

	mu           sync.Mutex
	l            *link                  // the current link (reconnect.go)
	pc           *webrtc.PeerConnection // the current link's, set by its reader on joined
	sender       *webrtc.RTPSender
	failErr      error
	live         bool // Join returned: failures are Interrupted now (or a reconnect)
	members      []string
	answered     bool              // our first answer on this link went out: local candidates may follow
	pendingLocal []json.RawMessage // local candidates gathered before that
	pendingPeer  []webrtc.ICECandidateInit
	announced    map[string]*webrtc.TrackRemote // member → its track handed to AudioTrack
	vannounced   map[string]*webrtc.TrackRemote // member → its track handed to VideoTrack
	videoMembers []string

	// Resume (group rooms): the ticket and grace of the last joined, what
	// a resume join restates (the mute, the video subscription), and
	// whether a reconnect is under way.
	ticket    string
	grace     time.Duration
	mute      proto.MuteConfig
	sub       []string
	subSet    bool
	relinking bool
	relinked  chan struct{} // closed and replaced when a new link is up

	// ICE restart (restart.go): whether the server restarts ICE on
	// request (its joined said so), whether a restart is under way, and
	// what its current attempt waits for.
	iceRestartOK   bool
	restarting     bool
	restartOffered chan struct{} // closed on the server's next offer
	restartUp      chan struct{} // closed when the media connection is up again
	restartDown    chan struct{} // closed when it failed again
	iceRestarts    int           // restarts that brought the media back
	reconnects     int           // new links that did
	// silentSince: when the media last arrived, for a restart begun on a
	// lasting disconnection, before the media counts as failed; zero once
	// it is up again. The grace a restart or reconnect gets counts from
	// that failure, as the server's does.
	silentSince time.Time

	// This device's video (a video join into a video room), nil otherwise;
	// set by the reader, cleared if the server's first offer has no place
	// for it.
	vtrack  *webrtc.TrackLocalStaticRTP
	vsender *webrtc.RTPSender

	bwe *VideoEstimate // the send-side estimate of a video join (bwe.go), nil otherwise

	joinMsg *proto.Message // a call room's join (call.go), or nil for a group join
	rtc     *rtcSession    // a token room's state (rtc.go), set on joined; under mu
	want    rtcWant        // a token room's publishing and receiving as last asked (rtc.go); under mu
}

func newSession(cfg Config, u *url.URL, p JoinParams, h Handler) *Session {
	s := &Session{
		cfg:        cfg,
		url:        u,
		params:     p,
		h:          h,
		log:        cfg.Logger.With("groupId", p.GroupID, "openid", p.OpenID),
		failed:     make(chan struct{}),
		closed:     make(chan struct{}),
		relinked:   make(chan struct{}),
		announced:  map[string]*webrtc.TrackRemote{},
		vannounced: map[string]*webrtc.TrackRemote{},
		mute:       p.Mute,
	}
	s.bwe = s.newEstimate()
	return s
}

// Members is the room's member list (openids in join order, this device
// included) as the server last sent it.
func (s *Session) Members() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.members)
}

// AudioTrack is where this device's Opus RTP goes (WriteRTP). pion fills in
// the SSRC and payload type; the caller sets sequence numbers, timestamps
// and the audio level extension (AudioLevelExtID).
func (s *Session) AudioTrack() *webrtc.TrackLocalStaticRTP {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.track
}

// SetMute tells the server this device's mute state (and a resume after a
// reconnect restates it). Muting itself (sending nothing, playing nothing)
// is the media pipeline's job.
func (s *Session) SetMute(m proto.MuteConfig) error {
	s.mu.Lock()
	s.mute = m
	s.mu.Unlock()
	if err := s.write(&proto.Message{Type: proto.TypeMute, MuteConfig: &m}); err != nil {
		return &Error{Reason: proto.ReasonUnreachable, Msg: "room: sending mute: " + err.Error()}
	}
	return nil
}

// Leave says goodbye to the server and closes the media and the socket
// (a reconnect under way stops). The Handler gets no Interrupted for it.
func (s *Session) Leave(ctx context.Context) error {
	s.leaving.Store(true)
	l := s.link()
	err := s.write(&proto.Message{Type: proto.TypeLeave})
	if err == nil && l != nil {
		// Wait (bounded) for the server's close, so the leave is read
		// before the socket goes.
		select {
		case <-l.readDone:
		case <-ctx.Done():
		case <-time.After(writeWait):
		}
	}
	s.close()
	if ctx.Err() != nil {
		return fmt.Errorf("room: leave: %w", ctx.Err())
	}
	return nil
}

// close tears everything down, stops a reconnect and waits for the
// reader. Idempotent.
func (s *Session) close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.closeLink(s.link(), true)
	})
}

func (s *Session) peer() *webrtc.PeerConnection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pc
}

// write sends one message on the current link, serialised with the other
// writers.
func (s *Session) write(m *proto.Message) error {
	l := s.link()
	if l == nil {
		return errNoLink
	}
	if err := l.write(&s.writeMu, m); err != nil {
		return &sendError{err}
	}
	return nil
}

// sendError is a message that could not be sent to the server: the
// signalling connection failed, which its reader reports with the cause.
type sendError struct{ err error }

func (e *sendError) Error() string { return "sending to the room server: " + e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// fail records the session's final failure. Before Join returns it ends
// the join; after, it is reported once through Interrupted (unless
// leaving), and a reconnect under way stops.
func (s *Session) fail(err error) {
	s.failOnce.Do(func() {
		s.mu.Lock()
		s.failErr = err
		live := s.live
		s.mu.Unlock()
		close(s.failed)
		if live && !s.leaving.Load() {
			s.log.Info("room interrupted", "err", err)
			s.notifyRemoved(err) // token rooms (rtc.go)
			s.h.Interrupted(err)
		}
		if live {
			go s.close() // not on the reader's goroutine, which close waits for
		}
	})
}

// markLive switches failures from ending the join to Interrupted; it
// returns the failure if one already happened.
func (s *Session) markLive() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failErr != nil {
		return s.failErr
	}
	s.live = true
	return nil
}

// readLoop handles the server's messages on link l until its socket ends.
func (s *Session) readLoop(l *link) {
	defer close(l.readDone)
	l.conn.SetPingHandler(func(data string) error {
		l.conn.SetReadDeadline(time.Now().Add(readWait))
		return l.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
	})
	for {
		l.conn.SetReadDeadline(time.Now().Add(readWait))
		_, b, err := l.conn.ReadMessage()
		if err != nil {
			s.linkFailed(l, &Error{Reason: proto.ReasonUnreachable, Msg: "room: connection to the room server lost: " + err.Error()})
			return
		}
		msg, err := proto.Decode(b)
		if err != nil {
			// A newer server may send what this client does not know.
			s.log.Debug("ignoring message", "err", err)
			continue
		}
		if err := s.handle(l, msg); err != nil {
			s.linkFailed(l, err)
			l.conn.Close()
			return
		}
	}
}

func (s *Session) handle(l *link, msg *proto.Message) error {
	switch msg.Type {
	case proto.TypeJoined:
		s.joined(msg)
		s.rtcJoined(msg) // token rooms: before startPeer gates the tracks
		if err := s.startPeer(l, msg.ICEServers); err != nil {
			return &Error{Reason: proto.ReasonInternal, Msg: "room: " + err.Error()}
		}
	case proto.TypeMembers:
		s.setMembers(msg.Members)
		s.h.MembersChanged(slices.Clone(msg.Members))
	case proto.TypeVideoMembers:
		s.setVideoMembers(msg.Members)
	case proto.TypeOffer:
		if s.peer() == nil {
			return &Error{Reason: proto.ReasonInternal, Msg: "room: the server offered before joined"}
		}
		if err := s.answer(msg.SDP); err != nil {
			var we *sendError
			if errors.As(err, &we) {
				// The socket is going (the server closing, the network):
				// reading on finds why, the server's last word (an error
				// saying shutdown) or the read's failure, not this write's.
				s.log.Debug("answering the server's offer", "err", err)
				return nil
			}
			return &Error{Reason: proto.ReasonInternal, Msg: "room: answering the server's offer: " + err.Error()}
		}
		s.offered(l)
	case proto.TypeCandidate:
		s.addPeerCandidate(msg.Candidate)
	case proto.TypePublished, proto.TypeTokenExpiring:
		s.handleRTC(msg)
	case proto.TypeLiveKit:
		// A gateway (roomd in gateway mode): the room is on LiveKit.
		// The join ends here with where to go (package room/lk joins it).
		return &Redirect{URL: msg.URL, Token: msg.Token, Resume: msg.Resume, Grace: time.Duration(msg.GraceMs) * time.Millisecond,
			ExpireAt: msg.ExpireAt}
	case proto.TypeError:
		// unreachable from the server itself: the grace ran out (proto's
		// README, iceRestart).
		return &Error{Reason: msg.Reason, Msg: msg.Message, final: msg.Reason == proto.ReasonUnreachable}
	case proto.TypePing:
		return s.write(&proto.Message{Type: proto.TypePong})
	}
	return nil
}

func (s *Session) setMembers(m []string) {
	s.mu.Lock()
	s.members = slices.Clone(m)
	s.mu.Unlock()
}

// joined takes a joined's members and resume ticket. After a reconnect the
// Handler hears of members that changed while the link was down.
func (s *Session) joined(msg *proto.Message) {
	s.mu.Lock()
	changed := s.live && !slices.Equal(s.members, msg.Members)
	s.members = slices.Clone(msg.Members)
	s.iceRestartOK = msg.ICERestart
	if msg.Resume != "" {
		s.ticket, s.grace = msg.Resume, time.Duration(msg.GraceMs)*time.Millisecond
	} else if s.joinMsg != nil && s.joinMsg.Kind == proto.KindRTC {
		s.grace = time.Duration(msg.GraceMs) * time.Millisecond // a token room's seat: back with the token
	}
	s.mu.Unlock()
	if changed {
		s.h.MembersChanged(slices.Clone(msg.Members))
	}
}
