package room

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
)

// A link is one signalling connection and its PeerConnection. A Session
// has one at a time: the first made by Join, and, in a group room whose
// server gave a resume ticket, a new one each time the previous is lost
// (the connection to the server dropped, the media connection failed, the
// server restarted). The new link resumes the seat with the ticket (no
// new signature), and the tracks the caller writes to, the Handler and the
// Session itself stay the same.
type link struct {
	conn     *websocket.Conn
	readDone chan struct{}
	up       chan struct{} // the media connection is up
	upOnce   sync.Once
	down     chan struct{} // the link failed
	downOnce sync.Once
	err      error // why, once down is closed
}

func newLink() *link {
	return &link{readDone: make(chan struct{}), up: make(chan struct{}), down: make(chan struct{})}
}

func (l *link) connectedUp() { l.upOnce.Do(func() { close(l.up) }) }

func (l *link) write(mu *sync.Mutex, m *proto.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if l.conn == nil {
		return errNoLink
	}
	l.conn.SetWriteDeadline(time.Now().Add(writeWait))
	return l.conn.WriteMessage(websocket.TextMessage, b)
}

// errNoLink is a write while no signalling connection is up (a reconnect
// is under way).
var errNoLink = errors.New("no connection to the room server (reconnecting)")

// Reconnect timing: the first attempt soon after the loss (a blip, or a
// restarting server that listens again in a moment), then more slowly,
// but often enough that the device is back within about half a second of
// the server answering again.
const (
	reconnectFirst = 200 * time.Millisecond
	reconnectMax   = 500 * time.Millisecond
	// reconnectDial bounds an attempt's connection to the server: while
	// the network is out a dial's SYNs are lost and TCP would wait seconds
	// between them; short dials, tried often, get through soon after it is
	// back. (Joined and the media then have the rest of the join timeout.)
	reconnectDial = 1500 * time.Millisecond
)

// ReconnectHandler is what a Handler implements besides to hear that a
// group room session lost its connection and is getting back into its
// seat (optional: without it the session still reconnects). A reconnect
// that fails — the seat was given up, the grace ran out — ends with
// Interrupted.
type ReconnectHandler interface {
	Reconnecting(err error)
	Reconnected()
}

// Ticket is the resume ticket of the last joined (group rooms; "" where
// the server gives none): a device that keeps it across a restart of its
// own comes back to its seat with JoinParams.Resume. It is a credential:
// keep it private (mode 0600) and never log it.
func (s *Session) Ticket() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ticket
}

// Grace is how long the server keeps this member's seat (and so each
// other member's) after a connection drops, as the last joined said; 0
// where the server gives no ticket.
func (s *Session) Grace() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grace
}

func (s *Session) link() *link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.l
}

// linkFailed records why link l failed. The failure of the current link
// of a live session with a resume ticket starts a reconnect when it is one
// (the network, the media connection, the server restarting); any other
// ends the session. A link failing while a reconnect tries it only ends
// that try.
func (s *Session) linkFailed(l *link, err error) {
	l.downOnce.Do(func() {
		l.err = err
		close(l.down)
		s.mu.Lock()
		current, live, relinking, resumable := s.l == l, s.live && s.failErr == nil, s.relinking, s.resumableLocked()
		if current && live && !relinking && resumable && reconnectable(err) && !s.leaving.Load() {
			s.relinking = true
			go s.reconnect(l, err)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if current && !relinking {
			s.fail(err)
		}
	})
}

// resumableLocked reports whether the server keeps this member's seat
// when its link drops: a group or call room's member holds a resume
// ticket; a token room's comes back with its token while the server's
// grace lasts. Called under s.mu.
func (s *Session) resumableLocked() bool {
	if s.joinMsg != nil && s.joinMsg.Kind == proto.KindRTC {
		return s.grace > 0
	}
	return s.ticket != ""
}

// reconnectable reports whether a lost link is worth coming back from:
// the connection or the media dropped, or the server is restarting. A
// server that ended the member (duplicate, kicked, a refused resume) is
// not.
func reconnectable(err error) bool {
	var re *Error
	if !errors.As(err, &re) || re.final {
		return false
	}
	switch re.Reason {
	case proto.ReasonUnreachable, proto.ReasonShutdown, proto.ReasonTimeout, proto.ReasonInternal:
		return true
	}
	return false
}

// closeLink ends link l: its socket (politely when polite), its reader,
// its PeerConnection (whose end unbinds the tracks; they stay the
// session's).
func (s *Session) closeLink(l *link, polite bool) {
	if l == nil {
		return
	}
	s.writeMu.Lock()
	conn := l.conn
	if conn != nil && polite {
		conn.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	}
	s.writeMu.Unlock()
	if conn != nil {
		conn.Close()
		<-l.readDone
	}
	s.mu.Lock()
	var pc *webrtc.PeerConnection
	if s.l == l {
		pc, s.pc = s.pc, nil
	}
	s.mu.Unlock()
	if pc != nil {
		pc.Close()
	}
}

// reconnect gets a live session whose link was lost back into its seat:
// attempts spaced reconnectFirst, then doubling up to reconnectMax, each a
// new link resuming with the ticket, until one is up, the seat is refused,
// the server's grace runs out, or the session is left.
func (s *Session) reconnect(lost *link, cause error) {
	s.log.Warn("room connection lost: reconnecting", "err", cause)
	rh, _ := s.h.(ReconnectHandler)
	if rh != nil {
		rh.Reconnecting(cause)
	}
	s.closeLink(lost, false)
	s.mu.Lock()
	grace, deadline := s.grace, s.graceDeadlineLocked()
	s.mu.Unlock()
	for delay, attempt := reconnectFirst, 1; ; delay, attempt = min(2*delay, reconnectMax), attempt+1 {
		select {
		case <-s.closed:
			return
		case <-time.After(delay):
		}
		left := time.Until(deadline)
		if left <= 0 {
			s.endRelink()
			s.fail(&Error{Reason: proto.ReasonUnreachable, Msg: fmt.Sprintf("room: not back in the room within the server's grace of %s: %v", grace, cause)})
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), min(s.cfg.JoinTimeout, left))
		err := s.relink(ctx)
		cancel()
		if err == nil {
			break
		}
		s.log.Debug("reconnect attempt failed", "attempt", attempt, "err", err)
		if !reconnectable(err) && !errors.Is(err, context.DeadlineExceeded) {
			s.endRelink()
			s.fail(err) // the seat was refused: the room is over for this member
			return
		}
		cause = err
	}
	s.mu.Lock()
	s.relinking = false
	s.reconnects++
	sub, subSet := s.sub, s.subSet
	close(s.relinked)
	s.relinked = make(chan struct{})
	s.mu.Unlock()
	if subSet {
		if err := s.write(&proto.Message{Type: proto.TypeSubscribe, OpenIDList: sub}); err != nil {
			s.log.Warn("restating the video subscription", "err", err)
		}
	}
	s.rtcRestate()
	s.log.Info("back in the room")
	if rh != nil {
		rh.Reconnected()
	}
}

func (s *Session) endRelink() {
	s.mu.Lock()
	s.relinking = false
	s.mu.Unlock()
}

// relink makes a new link and resumes the seat on it: dial, the resume
// join, joined, a new PeerConnection with the session's tracks, media up.
// A failed try is closed again.
func (s *Session) relink(ctx context.Context) error {
	l := newLink()
	s.mu.Lock()
	if s.leaving.Load() {
		s.mu.Unlock()
		return context.Canceled
	}
	s.l, s.pc, s.sender = l, nil, nil
	s.answered, s.pendingLocal, s.pendingPeer = false, nil, nil
	clear(s.announced)
	clear(s.vannounced)
	msg := &proto.Message{
		Type: proto.TypeJoin, Kind: proto.KindVoIP, AppID: s.params.AppID, OpenID: s.params.OpenID,
		GroupID: s.params.GroupID, RoomType: s.params.RoomType, Resume: s.ticket, MuteConfig: &s.mute,
	}
	if s.joinMsg != nil && s.joinMsg.Kind == proto.Kind1v1 { // a call room's seat
		msg.Kind, msg.GroupID, msg.RoomID = proto.Kind1v1, "", s.params.GroupID
	}
	if s.joinMsg != nil && s.joinMsg.Kind == proto.KindRTC { // a token room's: the same token
		msg = s.rtcRejoinLocked()
	}
	s.mu.Unlock()
	dctx, cancel := context.WithTimeout(ctx, reconnectDial)
	err := s.dial(dctx, l)
	cancel()
	if err != nil {
		return err
	}
	err = l.write(&s.writeMu, msg)
	if err == nil {
		select {
		case <-l.up:
			return nil
		case <-l.down:
			err = l.err
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	s.closeLink(l, false)
	return err
}

// videoFeedback reads the RTCP of this device's video sender across links:
// a reconnect gives the video a new RTPSender, and the media pipeline,
// which reads it for keyframe requests and the estimate, keeps reading.
type videoFeedback struct{ s *Session }

// VideoFeedback is the RTCP about this device's video (PLI/FIR, REMB,
// transport-cc feedback), read from whichever link is up; its ReadRTCP
// fails once the session has ended. nil when VideoTrack is.
func (s *Session) VideoFeedback() interface {
	ReadRTCP() ([]rtcp.Packet, interceptor.Attributes, error)
} {
	if s.VideoTrack() == nil {
		return nil
	}
	return videoFeedback{s}
}

func (f videoFeedback) ReadRTCP() ([]rtcp.Packet, interceptor.Attributes, error) {
	for {
		f.s.mu.Lock()
		sender, next := f.s.vsender, f.s.relinked
		f.s.mu.Unlock()
		if sender != nil {
			pkts, attrs, err := sender.ReadRTCP()
			if err == nil {
				return pkts, attrs, nil
			}
		}
		select {
		case <-f.s.closed:
			return nil, nil, errors.New("room: the session ended")
		case <-next: // a new link, with a new sender
		}
	}
}
