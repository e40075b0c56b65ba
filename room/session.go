package room

import (
	"context"
	"encoding/json"
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

	conn    *websocket.Conn
	writeMu sync.Mutex // gorilla allows one writer at a time

	pc     *webrtc.PeerConnection // set by the reader on joined
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender

	connected     chan struct{} // closed when the PeerConnection first connects
	connectedOnce sync.Once
	failed        chan struct{} // closed on the first failure
	failOnce      sync.Once
	readDone      chan struct{}
	leaving       atomic.Bool
	closeOnce     sync.Once

	mu           sync.Mutex
	failErr      error
	live         bool // Join returned: failures are Interrupted now
	members      []string
	answered     bool              // our first answer went out: local candidates may follow
	pendingLocal []json.RawMessage // local candidates gathered before that
	pendingPeer  []webrtc.ICECandidateInit
	announced    map[string]*webrtc.TrackRemote // member → its track handed to AudioTrack
	vannounced   map[string]*webrtc.TrackRemote // member → its track handed to VideoTrack
	videoMembers []string

	// This device's video (a video join into a video room), nil otherwise;
	// set by the reader, cleared if the server's first offer has no place
	// for it.
	vtrack  *webrtc.TrackLocalStaticRTP
	vsender *webrtc.RTPSender

	bwe bwe // the send-side estimate of a video join (bwe.go)

	joinMsg *proto.Message // a call room's join (call.go), or nil for a group join
	rtc     *rtcSession    // a token room's state (rtc.go), set on joined; under mu
}

func newSession(cfg Config, u *url.URL, p JoinParams, h Handler) *Session {
	return &Session{
		cfg:        cfg,
		url:        u,
		params:     p,
		h:          h,
		log:        cfg.Logger.With("groupId", p.GroupID, "openid", p.OpenID),
		connected:  make(chan struct{}),
		failed:     make(chan struct{}),
		readDone:   make(chan struct{}),
		announced:  map[string]*webrtc.TrackRemote{},
		vannounced: map[string]*webrtc.TrackRemote{},
	}
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
func (s *Session) AudioTrack() *webrtc.TrackLocalStaticRTP { return s.track }

// SetMute tells the server this device's mute state. Muting itself (sending
// nothing, playing nothing) is the media pipeline's job.
func (s *Session) SetMute(m proto.MuteConfig) error {
	if err := s.write(&proto.Message{Type: proto.TypeMute, MuteConfig: &m}); err != nil {
		return &Error{Reason: proto.ReasonUnreachable, Msg: "room: sending mute: " + err.Error()}
	}
	return nil
}

// Leave says goodbye to the server and closes the media and the socket. The
// Handler gets no Interrupted for it.
func (s *Session) Leave(ctx context.Context) error {
	s.leaving.Store(true)
	err := s.write(&proto.Message{Type: proto.TypeLeave})
	if err == nil {
		// Wait (bounded) for the server's close, so the leave is read
		// before the socket goes.
		select {
		case <-s.readDone:
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

// close tears everything down and waits for the reader. Idempotent.
func (s *Session) close() {
	s.closeOnce.Do(func() {
		if s.conn != nil {
			s.writeMu.Lock()
			s.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			s.writeMu.Unlock()
			s.conn.Close()
			<-s.readDone
		}
		if pc := s.peer(); pc != nil {
			pc.Close()
		}
	})
}

func (s *Session) peer() *webrtc.PeerConnection {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pc
}

// write sends one message, serialised with the other writers.
func (s *Session) write(m *proto.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.conn.SetWriteDeadline(time.Now().Add(writeWait))
	return s.conn.WriteMessage(websocket.TextMessage, b)
}

// fail records the first failure. Before Join returns it ends the join;
// after, it is reported once through Interrupted (unless leaving).
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

// readLoop handles the server's messages until the socket ends.
func (s *Session) readLoop() {
	defer close(s.readDone)
	s.conn.SetPingHandler(func(data string) error {
		s.conn.SetReadDeadline(time.Now().Add(readWait))
		return s.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
	})
	for {
		s.conn.SetReadDeadline(time.Now().Add(readWait))
		_, b, err := s.conn.ReadMessage()
		if err != nil {
			s.fail(&Error{Reason: proto.ReasonUnreachable, Msg: "room: connection to the room server lost: " + err.Error()})
			return
		}
		msg, err := proto.Decode(b)
		if err != nil {
			// A newer server may send what this client does not know.
			s.log.Debug("ignoring message", "err", err)
			continue
		}
		if err := s.handle(msg); err != nil {
			s.fail(err)
			s.conn.Close()
			return
		}
	}
}

func (s *Session) handle(msg *proto.Message) error {
	switch msg.Type {
	case proto.TypeJoined:
		s.setMembers(msg.Members)
		s.rtcJoined(msg) // token rooms: before startPeer gates the tracks
		if err := s.startPeer(msg.ICEServers); err != nil {
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
			return &Error{Reason: proto.ReasonInternal, Msg: "room: answering the server's offer: " + err.Error()}
		}
	case proto.TypeCandidate:
		s.addPeerCandidate(msg.Candidate)
	case proto.TypePublished, proto.TypeTokenExpiring:
		s.handleRTC(msg)
	case proto.TypeError:
		return &Error{Reason: msg.Reason, Msg: msg.Message}
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
