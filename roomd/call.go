package roomd

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/voipd/voipd/proto"
)

// Two-party calls (proto/README.md, "Two-party calls"; proto/call.go):
// presences, ringing calls and the tickets of accepted ones. The registry
// has its own lock, taken before Server.mu when both are needed (the busy
// check looks at rooms) and never while Server.mu is held.

const (
	defaultRingTimeout = 30 * time.Second // a call that names none
	defaultMaxRing     = 60 * time.Second // Config.MaxRingTimeout
	defaultTicketTTL   = 30 * time.Second // Config.CallTicketTTL
)

type callState int

const (
	callRinging callState = iota
	callAccepted
)

// ticket lets one side of an accepted call join the call room once.
type ticket struct {
	openid  string
	secret  string
	expires time.Time
	used    bool
}

// call is one call from ring until both tickets are used or expired.
type call struct {
	id, appID        string
	caller, listener proto.Party
	roomType         string
	state            callState
	callerConn       *member // the caller's socket while it rings
	presence         *member // the presence the invite went to
	timer            *time.Timer
	tickets          [2]ticket // caller's, listener's once accepted

	// Across gateways (callbus.go): the caller's socket, or the
	// listener's presence, is at another gateway (callerConn or presence
	// nil); unsubscribe stops listening for the listener's answer.
	remoteCaller, remoteListener bool
	unsubscribe                  func()
}

func (c *call) stopRemote() {
	if c.unsubscribe != nil {
		c.unsubscribe()
		c.unsubscribe = nil
	}
}

func (c *call) roomID() string { return proto.CallRoomPrefix + c.id }

// involves reports whether openid still counts as busy with this call:
// while it rings, either side; once accepted, a side whose ticket is
// unused and unexpired (a side in the room is found among the rooms).
func (c *call) involves(openid string, now time.Time) bool {
	if c.state == callRinging {
		return c.caller.OpenID == openid || c.listener.OpenID == openid
	}
	for _, t := range c.tickets {
		if t.openid == openid && !t.used && now.Before(t.expires) {
			return true
		}
	}
	return false
}

// spent reports whether an accepted call has nothing left to redeem.
func (c *call) spent(now time.Time) bool {
	return c.state == callAccepted && !c.involves(c.caller.OpenID, now) && !c.involves(c.listener.OpenID, now)
}

type callRegistry struct {
	mu        sync.Mutex
	presences map[string]*member // appID\x00openid → its presence connection
	calls     map[string]*call   // callId →
}

func newCallRegistry() *callRegistry {
	return &callRegistry{presences: map[string]*member{}, calls: map[string]*call{}}
}

// callDefaults fills in and checks the call settings of cfg.
func callDefaults(cfg *Config) error {
	if cfg.MaxRingTimeout < 0 {
		return fmt.Errorf("roomd: Config.MaxRingTimeout %v is negative", cfg.MaxRingTimeout)
	}
	if cfg.MaxRingTimeout == 0 {
		cfg.MaxRingTimeout = defaultMaxRing
	}
	if cfg.CallTicketTTL < 0 {
		return fmt.Errorf("roomd: Config.CallTicketTTL %v is negative", cfg.CallTicketTTL)
	}
	if cfg.CallTicketTTL == 0 {
		cfg.CallTicketTTL = defaultTicketTTL
	}
	return nil
}

func presenceKey(appID, openid string) string { return appID + "\x00" + openid }

// register makes m the presence of openid, replacing (and closing) an
// earlier one.
func (s *Server) register(m *member, appID string) {
	s.calls.mu.Lock()
	k := presenceKey(appID, m.openid)
	old := s.calls.presences[k]
	s.calls.presences[k] = m
	s.calls.mu.Unlock()
	if old != nil {
		old.fail(proto.ReasonDuplicate, "the same openid registered again")
	}
}

// unregister drops m's presence (if it is still the current one) and ends
// the calls ringing on it: their callers get callEnded "offline".
func (s *Server) unregister(m *member, appID string) {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	k := presenceKey(appID, m.openid)
	if s.calls.presences[k] == m {
		delete(s.calls.presences, k)
	}
	for _, c := range s.calls.calls {
		if c.state == callRinging && c.presence == m {
			s.endRingingLocked(c, proto.ReasonOffline, "")
		}
	}
}

// busyLocked reports whether openid of appID rings, holds a ticket or is a
// member of any room of the app. Called under calls.mu.
func (s *Server) busyLocked(appID, openid string, now time.Time) bool {
	for _, c := range s.calls.calls {
		if c.appID == appID && c.involves(openid, now) {
			return true
		}
	}
	prefix := appID + "\x00"
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, r := range s.rooms {
		if strings.HasPrefix(k, prefix) && r.members[openid] != nil {
			return true
		}
	}
	return false
}

// ring starts a call from the caller's socket m, already authenticated.
func (s *Server) ring(m *member, msg *proto.Message) (*call, *rejection) {
	now := time.Now()
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	s.pruneCallsLocked(now)
	pres := s.calls.presences[presenceKey(msg.AppID, msg.Listener.OpenID)]
	if pres == nil && s.bus() == nil {
		return nil, reject(proto.ReasonOffline, "%s is not reachable for calls", msg.Listener.OpenID)
	}
	if s.busyLocked(msg.AppID, msg.Listener.OpenID, now) {
		return nil, reject(proto.ReasonListenerBusy, "%s is in a call", msg.Listener.OpenID)
	}
	c := &call{
		id: NonceStr(), appID: msg.AppID, caller: *msg.Caller, listener: *msg.Listener,
		roomType: msg.RoomType, callerConn: m, presence: pres,
	}
	if c.roomType == "" {
		c.roomType = proto.RoomVoice
	}
	if pres == nil { // registered at another gateway, if anywhere (callbus.go)
		if rej := s.ringRemoteLocked(m, msg, c); rej != nil {
			return nil, rej
		}
	}
	ring := defaultRingTimeout
	if msg.RingTimeoutMs > 0 {
		ring = time.Duration(msg.RingTimeoutMs) * time.Millisecond
	}
	ring = min(ring, s.cfg.MaxRingTimeout)
	c.timer = time.AfterFunc(ring, func() { s.ringTimedOut(c) })
	s.calls.calls[c.id] = c
	m.send(&proto.Message{Type: proto.TypeRinging, CallFields: proto.CallFields{CallID: c.id}})
	if pres != nil {
		pres.send(&proto.Message{Type: proto.TypeInvite, RoomType: c.roomType, CallFields: proto.CallFields{
			CallID: c.id, Caller: &c.caller, Listener: &c.listener}})
	}
	return c, nil
}

func (s *Server) ringTimedOut(c *call) {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	if s.calls.calls[c.id] == c && c.state == callRinging {
		s.endRingingLocked(c, proto.ReasonNoAnswer, proto.ReasonNoAnswer)
	}
}

// hangup cancels c if it still rings: the caller left or sent hangup.
func (s *Server) hangup(c *call) {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	if s.calls.calls[c.id] == c && c.state == callRinging {
		s.endRingingLocked(c, "", proto.ReasonRemote)
	}
}

// endRingingLocked ends a ringing call, telling the caller and the
// listener's presence the reasons given (none when empty).
func (s *Server) endRingingLocked(c *call, toCaller, toListener string) {
	c.timer.Stop()
	c.stopRemote()
	delete(s.calls.calls, c.id)
	s.log.Info("call ended", "callId", c.id, "caller", c.caller.OpenID, "listener", c.listener.OpenID,
		"reason", firstOf(toCaller, toListener))
	switch {
	case toCaller == "":
	case c.remoteCaller:
		s.tellCallerLocked(c, callEnded(c.id, toCaller))
	default:
		c.callerConn.finish(callEnded(c.id, toCaller))
	}
	switch {
	case toListener == "":
	case c.remoteListener:
		s.publish(presenceChannel(c.appID, c.listener.OpenID), callEnded(c.id, toListener))
	default:
		c.presence.send(callEnded(c.id, toListener))
	}
}

// answer handles a presence's callAnswer: a decline, with busy the
// listener's own listener_busy (it is in a room the server cannot see),
// or an acceptance.
func (s *Server) answer(m *member, appID, callID string, accept bool, busy string) {
	now := time.Now()
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	c := s.calls.calls[callID]
	if c == nil || c.state != callRinging || c.appID != appID || c.listener.OpenID != m.openid {
		m.send(callEnded(callID, proto.ReasonNotFound))
		return
	}
	if !accept {
		s.endRingingLocked(c, firstOf(busy, proto.ReasonDeclined), proto.ReasonDeclined)
		return
	}
	c.timer.Stop()
	if c.remoteCaller { // its tickets go to the bus, the caller's to its gateway
		delete(s.calls.calls, c.id)
		t, ok := s.acceptRemoteLocked(c, now)
		if !ok {
			s.tellCallerLocked(c, callEnded(c.id, proto.ReasonOffline))
			m.send(callEnded(callID, proto.ReasonNotFound))
			return
		}
		m.log.Info("call accepted", "callId", c.id, "caller", c.caller.OpenID, "callerAt", "another gateway")
		m.send(&proto.Message{Type: proto.TypeAccepted, RoomType: c.roomType, CallFields: proto.CallFields{
			CallID: c.id, RoomID: c.roomID(), Ticket: t, Peer: c.caller.OpenID}})
		return
	}
	c.state = callAccepted
	exp := now.Add(s.cfg.CallTicketTTL)
	c.tickets = [2]ticket{
		{openid: c.caller.OpenID, secret: NonceStr() + NonceStr(), expires: exp},
		{openid: c.listener.OpenID, secret: NonceStr() + NonceStr(), expires: exp},
	}
	accepted := func(t ticket, peer string) *proto.Message {
		return &proto.Message{Type: proto.TypeAccepted, RoomType: c.roomType, CallFields: proto.CallFields{
			CallID: c.id, RoomID: c.roomID(), Ticket: t.secret, Peer: peer}}
	}
	m.log.Info("call accepted", "callId", c.id, "caller", c.caller.OpenID)
	c.callerConn.finish(accepted(c.tickets[0], c.listener.OpenID))
	m.send(accepted(c.tickets[1], c.caller.OpenID))
}

// redeem checks a 1v1 join's ticket and spends it; on success msg is
// rewritten into the group join the rest of the join path expects.
func (s *Server) redeem(msg *proto.Message) *rejection {
	now := time.Now()
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	s.pruneCallsLocked(now)
	bad := reject(proto.ReasonTicket, "the ticket is unknown, used or expired")
	c := s.calls.calls[strings.TrimPrefix(msg.RoomID, proto.CallRoomPrefix)]
	if c == nil && s.bus() != nil {
		return s.redeemRemote(msg) // accepted at another gateway (callbus.go)
	}
	if c == nil || c.state != callAccepted || c.appID != msg.AppID {
		return bad
	}
	for i := range c.tickets {
		t := &c.tickets[i]
		if t.openid != msg.OpenID || subtle.ConstantTimeCompare([]byte(t.secret), []byte(msg.Ticket)) != 1 {
			continue
		}
		if t.used || !now.Before(t.expires) {
			return bad
		}
		t.used = true
		// The member joins with video when it asks for it (a device with a
		// camera asks even in a voice call, so the call can switch to video
		// later); the room itself is always a video room (room.go).
		msg.GroupID = c.roomID()
		if msg.RoomType == "" {
			msg.RoomType = c.roomType
		}
		return nil
	}
	return bad
}

// pruneCallsLocked forgets accepted calls whose tickets are all spent.
func (s *Server) pruneCallsLocked(now time.Time) {
	for id, c := range s.calls.calls {
		if c.spent(now) {
			delete(s.calls.calls, id)
		}
	}
}

func callEnded(callID, reason string) *proto.Message {
	return &proto.Message{Type: proto.TypeCallEnded, Reason: reason, CallFields: proto.CallFields{CallID: callID}}
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
