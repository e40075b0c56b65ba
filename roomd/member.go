package roomd

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
)

// Timing of the signalling connection. The first message must come within
// Config.HandshakeTimeout.
const (
	pingInterval = 15 * time.Second // server pings; a member that misses
	readWait     = 45 * time.Second // three pongs in a row is gone
	writeWait    = 5 * time.Second  // one write, including the final error
	sendQueueLen = 64               // messages queued to one member before it is dropped
)

var upgrader = websocket.Upgrader{
	HandshakeTimeout: writeWait, // writing the 101 response to a client that does not read
	ReadBufferSize:   4096,
	WriteBufferSize:  4096,
	// Joins are authenticated by signature, not by origin: the browser
	// client may be served from elsewhere than roomd.
	CheckOrigin: func(*http.Request) bool { return true },
}

// member is one joined (or joining) WebSocket connection and its
// PeerConnection.
type member struct {
	// listMu orders the member lists sent to it: announce runs outside
	// Server.mu, so two changes' lists can race to the socket; the one
	// computed later (a higher version) wins, an older one is dropped.
	listMu  sync.Mutex
	listVer uint64

	srv    *Server
	conn   *websocket.Conn
	log    *slog.Logger
	remote string // its address, without the port
	openid string
	key    string // room key
	// A group room member's app and groupId (its ticket's), when it
	// joined, Unix ms (its first join's, for a resume), and the ticket it
	// resumed with.
	appID, groupID string
	joinedAt       int64
	resume         *proto.Resume
	kind           string      // its join's: proto.KindVoIP or proto.Kind1v1 (a call room)
	resumable      bool        // a group or call room member: it gets a ticket and a grace
	left           atomic.Bool // it said leave: its seat is given up at once
	ended          atomic.Bool // the server ended it with an error: no grace
	away           *time.Timer // its connection dropped: the grace runs (resume.go); under Server.mu

	out      chan []byte
	quit     chan struct{} // closed by fail: the writer sends final and closes
	quitOnce sync.Once
	final    []byte // the error message to send before closing, or nil

	pc       *webrtc.PeerConnection
	fwd      *webrtc.TrackLocalStaticRTP
	roomType string // as the member asked in its join

	// Under Server.mu: the transceiver carrying each other member's audio,
	// and those of members who left, to be reused for the next joiner; the
	// same for video.
	senders  map[string]*webrtc.RTPTransceiver
	idle     []*webrtc.RTPTransceiver
	vsenders map[string]*webrtc.RTPTransceiver
	vidle    []*webrtc.RTPTransceiver

	// Video, set by Server.join under Server.mu before the member is in
	// the room, fixed after: whether it sends and receives video, and the
	// track its video is forwarded on.
	video bool
	vfwd  *videoTrack
	// Under Server.mu: its explicit subscription (subSet: it sent one) and
	// whether its video is arriving.
	sub        []string
	subSet     bool
	publishing bool
	// The SSRC of its incoming video (0 before the first packet), and
	// keyframe requests to it, coalesced.
	vssrc     atomic.Uint32
	keyframes *keyframer

	rtc *rtcMember // token rooms only (rtc.go), set before its PeerConnection

	// Its media connection failed at mediaDown (zero while it is up), and
	// mediaTimer removes it when the grace runs out first (media.go).
	mediaMu      sync.Mutex
	mediaDown    time.Time
	mediaTimer   *time.Timer
	mediaExpired atomic.Bool // removed for that: its seat is given up

	negMu        sync.Mutex
	negotiating  bool // an offer is outstanding
	pendingOffer bool // another offer is due once it is answered
	restartDue   bool // the next offer restarts ICE (the member asked: iceRestart)
	pendingCands []webrtc.ICECandidateInit
	mute         proto.MuteConfig
}

// send queues msg for the writer. A member whose queue is full is too slow
// to keep up and is dropped rather than allowed to stall the room.
func (m *member) send(msg *proto.Message) {
	b, err := json.Marshal(msg)
	if err != nil {
		return
	}
	select {
	case <-m.quit:
	case m.out <- b:
	default:
		m.log.Warn("send queue full, dropping member")
		m.fail(proto.ReasonInternal, "send queue overflow: the member is not reading")
	}
}

// fail ends the member's connection, after an error message when reason is
// not empty. Safe to call more than once and from any goroutine; the first
// call wins.
func (m *member) fail(reason, msg string) {
	m.quitOnce.Do(func() {
		if reason != "" {
			m.ended.Store(true)
			m.final, _ = json.Marshal(&proto.Message{Type: proto.TypeError, Reason: reason, Message: msg})
		}
		close(m.quit)
	})
}

// writeLoop is the member's only writer: queued messages, pings, and at the
// end the final error and a close frame.
func (m *member) writeLoop(done chan<- struct{}) {
	defer close(done)
	defer m.conn.Close()
	ping := time.NewTicker(pingInterval)
	defer ping.Stop()
	for {
		select {
		case b := <-m.out:
			m.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := m.conn.WriteMessage(websocket.TextMessage, b); err != nil {
				m.fail("", "")
				return
			}
		case <-ping.C:
			if err := m.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				m.fail("", "")
				return
			}
		case <-m.quit:
			m.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if m.final != nil {
				m.conn.WriteMessage(websocket.TextMessage, m.final)
			}
			m.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(writeWait))
			return
		}
	}
}

// serveWS is /ws: one member from upgrade to close. This goroutine is the
// member's reader.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	s.handlers.Add(1)
	s.mu.Unlock()
	defer s.handlers.Done()

	release, refused := s.limits.admit(r.RemoteAddr, time.Now())
	if refused != nil {
		s.refuseHTTP(w, r, refused)
		return
	}
	defer release()
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	m := s.newMember(conn, r.RemoteAddr)
	defer s.dropConn(m)
	writerDone := make(chan struct{})
	go m.writeLoop(writerDone)
	defer func() {
		m.fail("", "")
		<-writerDone
	}()

	conn.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	first, rej := m.readJoin()
	release() // it has spoken: no longer pending
	switch {
	case rej != nil:
		s.refusals.add(rej.reason, m.remote, rej.msg)
		m.fail(rej.reason, rej.msg)
		return
	case first == nil:
		return // gone before its first message
	case s.cfg.Gateway != nil && first.Type == proto.TypeJoin: // gateway mode: where its media goes (gateway.go)
		s.serveGateway(m, first)
	case first.Type != proto.TypeJoin: // register or call (call_conn.go)
		s.serveCallConn(m, first)
	case first.Kind == proto.KindRTC: // token rooms (rtc.go)
		s.serveRTC(m, first)
	default:
		s.serveJoin(m, first)
	}
}

// refuseHTTP answers a WebSocket the per-address limits refused, before
// its upgrade: 429 with when to try again, and the connection closed
// rather than kept alive for another request.
func (s *Server) refuseHTTP(w http.ResponseWriter, r *http.Request, refused *limitRefusal) {
	s.refusals.add(refused.reason, remoteHost(r.RemoteAddr), refused.msg)
	w.Header().Set("Connection", "close")
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(refused.retryAfter.Seconds())))))
	http.Error(w, refused.msg, http.StatusTooManyRequests)
}

// newMember makes the member of a new WebSocket and counts it among the
// server's connections (dropConn forgets it).
func (s *Server) newMember(conn *websocket.Conn, remote string) *member {
	m := &member{
		srv:      s,
		conn:     conn,
		log:      s.log.With("remote", remote),
		remote:   remoteHost(remote),
		out:      make(chan []byte, sendQueueLen),
		quit:     make(chan struct{}),
		senders:  map[string]*webrtc.RTPTransceiver{},
		vsenders: map[string]*webrtc.RTPTransceiver{},
	}
	s.mu.Lock()
	if s.closing {
		m.fail(proto.ReasonShutdown, "the room server is shutting down")
	}
	s.conns[m] = struct{}{}
	s.mu.Unlock()
	return m
}

func (s *Server) dropConn(m *member) {
	s.mu.Lock()
	delete(s.conns, m)
	s.mu.Unlock()
}

// remoteHost is the address part of a remote host:port, for logs.
func remoteHost(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

// serveJoin serves a group or call room member whose join was read and
// authenticated, until it leaves.
func (s *Server) serveJoin(m *member, join *proto.Message) {
	m.openid, m.appID, m.groupID = join.OpenID, join.AppID, join.GroupID
	m.key = join.AppID + "\x00" + join.GroupID
	m.log = m.log.With("openid", join.OpenID, "groupId", join.GroupID)
	if join.MuteConfig != nil {
		m.mute = *join.MuteConfig
	}
	m.roomType = join.RoomType
	if m.roomType == "" {
		m.roomType = proto.RoomVoice
	}
	m.joinedAt = time.Now().UnixMilli()
	m.kind = cmp.Or(join.Kind, proto.KindVoIP)
	m.resumable = m.kind == proto.KindVoIP || m.kind == proto.Kind1v1
	if m.resume != nil { // back to its seat: the room type and place of its first join
		m.roomType, m.joinedAt = m.resume.JoinType, m.resume.Joined
		m.log = m.log.With("resume", true)
	}
	if err := m.newPeer(s.api); err != nil {
		m.log.Error("join failed", "err", err)
		m.fail(proto.ReasonInternal, "could not set up media")
		return
	}
	defer m.pc.Close()
	defer m.stopKeyframes()
	if rej := s.join(m); rej != nil {
		s.counters.join(m.kind, rej.reason)
		m.log.Info("join refused", "reason", rej.reason, "detail", rej.msg)
		m.fail(rej.reason, rej.msg)
		return
	}
	s.counters.join(m.kind, "ok")
	m.log.Info("joined")
	defer s.depart(m)

	m.conn.SetPongHandler(func(string) error {
		return m.conn.SetReadDeadline(time.Now().Add(readWait))
	})
	m.readLoop()
}

// errTooBig is a message over proto.MaxMessageBytes.
var errTooBig = fmt.Errorf("the message is over the %d-byte limit", proto.MaxMessageBytes)

// readMessage reads one message of at most proto.MaxMessageBytes. The
// WebSocket's own read limit would close the connection (code 1009) before
// the member could be told why; reading through a limited reader lets the
// caller answer errTooBig with an error message, having read no more than
// the limit.
func (m *member) readMessage() ([]byte, error) {
	_, r, err := m.conn.NextReader()
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(r, proto.MaxMessageBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > proto.MaxMessageBytes {
		return nil, errTooBig
	}
	return b, nil
}

// readJoin reads and authenticates the first message. Both results are nil
// when the connection ended before one came (the client closed it, or the
// server is closing): nothing was refused.
func (m *member) readJoin() (*proto.Message, *rejection) {
	b, err := m.readMessage()
	var ne net.Error
	switch {
	case errors.Is(err, errTooBig):
		return nil, reject(proto.ReasonParams, "%v", err)
	case errors.As(err, &ne) && ne.Timeout():
		return nil, reject(proto.ReasonParams, "no first message (join, register or call) within the %v handshake timeout",
			m.srv.cfg.HandshakeTimeout)
	case err != nil:
		m.log.Debug("closed before its first message", "err", err)
		return nil, nil
	}
	msg, err := proto.Decode(b)
	if err != nil {
		return nil, reject(proto.ReasonParams, "%v", err)
	}
	if done, rej := m.srv.checkCallFirst(msg); done {
		return msg, rej
	}
	if msg.Type == proto.TypeJoin && msg.Kind == proto.KindRTC {
		return msg, nil // serveRTC checks the token
	}
	if msg.Type != proto.TypeJoin {
		return nil, reject(proto.ReasonParams, "the first message must be join, not %s", msg.Type)
	}
	if msg.Resume != "" {
		t, rej := m.srv.auth.checkResume(msg, time.Now())
		if rej != nil {
			return nil, rej
		}
		m.resume = &t
		return msg, nil
	}
	if rej := m.srv.auth.check(msg, time.Now()); rej != nil {
		return nil, rej
	}
	return msg, nil
}

// readLoop handles a joined member's messages until it leaves, errs or is
// closed.
func (m *member) readLoop() {
	for {
		m.conn.SetReadDeadline(time.Now().Add(readWait))
		b, err := m.readMessage()
		if err != nil {
			m.readFailed(err)
			return
		}
		msg, err := proto.Decode(b)
		if err != nil {
			m.fail(proto.ReasonParams, err.Error())
			return
		}
		switch msg.Type {
		case proto.TypeAnswer:
			err = m.answer(msg.SDP)
		case proto.TypeCandidate:
			err = m.candidate(msg.Candidate)
		case proto.TypeMute:
			m.negMu.Lock()
			m.mute = *msg.MuteConfig
			m.negMu.Unlock()
			m.log.Debug("mute", "microphone", msg.MuteConfig.MuteMicrophone, "earphone", msg.MuteConfig.MuteEarphone)
		case proto.TypeSubscribe:
			m.srv.subscribe(m, msg.OpenIDList)
		case proto.TypeICERestart:
			m.mediaFailed() // its media failed, as the member sees it: the grace runs
			m.restartICE()
		case proto.TypePing:
			m.send(&proto.Message{Type: proto.TypePong})
		case proto.TypePong:
		case proto.TypeLeave:
			m.left.Store(true)
			m.log.Info("left")
			m.fail("", "")
			return
		default:
			err = m.srv.rtcMessage(m, msg) // publish, receive (rtc_media.go); else an error
		}
		if err != nil {
			m.log.Info("bad message", "type", msg.Type, "err", err)
			m.fail(proto.ReasonParams, err.Error())
			return
		}
	}
}

// readFailed ends the member after a failed read: one over the size limit
// is told so; a closed or dead connection just ends.
func (m *member) readFailed(err error) {
	var ce *websocket.CloseError
	switch {
	case errors.Is(err, errTooBig):
		m.log.Info("bad message", "err", err)
		m.fail(proto.ReasonParams, err.Error())
	case !errors.As(err, &ce):
		m.log.Debug("read", "err", err)
	}
}
