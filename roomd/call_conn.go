package roomd

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/voipd/voipd/proto"
)

// checkCallFirst authenticates a first message that belongs to two-party
// calls: register, call, or a join of kind 1v1 (done reports that it did).
// It also keeps group joins out of the call rooms' id space.
func (s *Server) checkCallFirst(msg *proto.Message) (done bool, rej *rejection) {
	signed := func(openid, group string) *rejection {
		// The call signatures are join signatures over a purpose-made
		// groupId, checked (and their nonces remembered) the same way.
		return s.auth.check(&proto.Message{AppID: msg.AppID, OpenID: openid, GroupID: group,
			NonceStr: msg.NonceStr, TimeStamp: msg.TimeStamp, Signature: msg.Signature}, time.Now())
	}
	switch {
	case msg.Type == proto.TypeRegister:
		return true, signed(msg.OpenID, proto.PresenceGroup(msg.OpenID))
	case msg.Type == proto.TypeCall:
		return true, signed(msg.Caller.OpenID, proto.CallGroup(msg.Listener.OpenID))
	case msg.Type == proto.TypeJoin && msg.Kind == proto.Kind1v1 && msg.Resume != "":
		// Back into a call room's seat: the resume ticket is checked like a
		// group room's, for the room roomId names.
		msg.GroupID = msg.RoomID
		return false, nil
	case msg.Type == proto.TypeJoin && msg.Kind == proto.Kind1v1:
		return true, s.redeem(msg)
	case msg.Type == proto.TypeJoin && strings.HasPrefix(msg.GroupID, proto.CallRoomPrefix):
		return true, reject(proto.ReasonParams, "groupId may not start with %q: call rooms use it", proto.CallRoomPrefix)
	}
	return false, nil
}

// serveCallConn serves a socket whose first message was an authenticated
// register or call; it returns when the socket is done.
func (s *Server) serveCallConn(m *member, first *proto.Message) {
	m.conn.SetPongHandler(func(string) error {
		return m.conn.SetReadDeadline(time.Now().Add(readWait))
	})
	switch first.Type {
	case proto.TypeRegister:
		s.servePresence(m, first)
	case proto.TypeCall:
		s.serveCaller(m, first)
	}
}

// servePresence keeps openid reachable for calls until the socket ends.
func (s *Server) servePresence(m *member, reg *proto.Message) {
	m.openid = reg.OpenID
	m.log = m.log.With("openid", reg.OpenID, "presence", true)
	s.register(m, reg.AppID)
	defer s.unregister(m, reg.AppID)
	defer s.announcePresence(m, reg.AppID)() // to the other gateways (callbus.go)
	m.send(&proto.Message{Type: proto.TypeRegistered})
	m.log.Info("registered for calls")
	for {
		msg, ok := m.readCallMessage()
		if !ok {
			return
		}
		switch msg.Type {
		case proto.TypeCallAnswer:
			s.answer(m, reg.AppID, msg.CallID, *msg.Accept, msg.Reason)
		case proto.TypePing:
			m.send(&proto.Message{Type: proto.TypePong})
		case proto.TypePong:
		case proto.TypeLeave:
			m.log.Info("unregistered")
			m.fail("", "")
			return
		default:
			m.fail(proto.ReasonParams, msg.Type+" is not a message a presence sends")
			return
		}
	}
}

// serveCaller rings the listener and waits: the outcome closes the socket
// (Server.answer, ringTimedOut), and the caller closing it or sending
// hangup while it rings cancels the call.
func (s *Server) serveCaller(m *member, msg *proto.Message) {
	m.openid = msg.Caller.OpenID
	m.log = m.log.With("openid", msg.Caller.OpenID, "listener", msg.Listener.OpenID)
	c, rej := s.ring(m, msg)
	if rej != nil {
		m.log.Info("call refused", "reason", rej.reason)
		m.fail(rej.reason, rej.msg)
		return
	}
	m.log.Info("call ringing", "callId", c.id, "roomType", c.roomType)
	defer s.hangup(c)
	for {
		msg, ok := m.readCallMessage()
		if !ok {
			return
		}
		switch {
		case msg.Type == proto.TypeHangup && msg.CallID == c.id:
			m.log.Info("caller hung up", "callId", c.id)
			return
		case msg.Type == proto.TypePing:
			m.send(&proto.Message{Type: proto.TypePong})
		case msg.Type == proto.TypePong:
		default:
			m.fail(proto.ReasonParams, msg.Type+" is not a message a caller sends now")
			return
		}
	}
}

// readCallMessage reads one message of a call socket; ok is false when the
// socket is done (a malformed message fails it with params).
func (m *member) readCallMessage() (*proto.Message, bool) {
	m.conn.SetReadDeadline(time.Now().Add(readWait))
	b, err := m.readMessage()
	if err != nil {
		m.readFailed(err)
		return nil, false
	}
	msg, err := proto.Decode(b)
	if err != nil {
		m.fail(proto.ReasonParams, err.Error())
		return nil, false
	}
	return msg, true
}

// finish ends the connection after msg (instead of an error message): a
// caller's socket closes with its call's outcome. Like fail, the first of
// the two to be called wins.
func (m *member) finish(msg *proto.Message) {
	m.quitOnce.Do(func() {
		m.final, _ = json.Marshal(msg)
		close(m.quit)
	})
}
