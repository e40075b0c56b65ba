package roomd

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/voipd/voipd/proto"
)

// Two-party calls across gateways (gateway mode, a fleet on LiveKit): a
// panel registers for calls at one gateway and its caller may ring it from
// any other. A Gateway that is also a CallBus (lkgate: Redis) carries what
// crosses between them:
//
//   - a presence is announced under presence key P(app, openid) for as long
//     as its socket lives (refreshed; it expires if its gateway dies), and
//     its gateway listens on channel P for invites and for the ends of
//     calls ringing on it;
//   - the caller's gateway listens on channel C(app, callId) for the
//     answer (accepted with the caller's ticket, or callEnded);
//   - the tickets of an accepted call are stored under T(app, callId,
//     openid), so that either side redeems its own at any gateway, once.
//
// A call whose two sides share a gateway takes the local path as before.

// CallBus is what a Gateway offers for calls across gateways.
type CallBus interface {
	Publish(channel string, msg []byte) error
	// Subscribe calls fn with each message on channel until cancel.
	Subscribe(channel string, fn func([]byte)) (cancel func(), err error)
	// SetKey sets key to val for ttl; GetDel reads and deletes it (ok
	// false when absent); Exists says whether it is set; Del deletes it.
	SetKey(key, val string, ttl time.Duration) error
	GetDel(key string) (val string, ok bool, err error)
	Exists(key string) (bool, error)
	Del(key string) error
}

const presenceTTL = 30 * time.Second // refreshed every third of it

func presenceChannel(appID, openid string) string { return "voipd:presence:" + appID + ":" + openid }
func callChannel(appID, callID string) string     { return "voipd:call:" + appID + ":" + callID }

// ticketKey names a stored ticket by its secret too, so that a wrong
// ticket finds nothing and spends nothing.
func ticketKey(appID, callID, openid, secret string) string {
	return "voipd:ticket:" + appID + ":" + callID + ":" + openid + ":" + secret
}

// bus is the server's CallBus, nil outside gateway mode.
func (s *Server) bus() CallBus {
	b, _ := s.cfg.Gateway.(CallBus)
	return b
}

func (s *Server) publish(channel string, m *proto.Message) {
	b, err := json.Marshal(m)
	if err == nil {
		err = s.bus().Publish(channel, b)
	}
	if err != nil {
		s.log.Warn("calls: publishing to the other gateways", "type", m.Type, "err", err)
	}
}

// announcePresence makes m's presence reachable from every gateway until the
// returned function is called.
func (s *Server) announcePresence(m *member, appID string) func() {
	b := s.bus()
	if b == nil {
		return func() {}
	}
	key := presenceChannel(appID, m.openid)
	cancel, err := b.Subscribe(key, func(raw []byte) { s.fromCaller(m, appID, raw) })
	if err != nil {
		m.log.Warn("calls: cannot listen for calls from other gateways", "err", err)
		return func() {}
	}
	if err := b.SetKey(key, "1", presenceTTL); err != nil {
		m.log.Warn("calls: cannot announce the presence to other gateways", "err", err)
	}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(presenceTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				b.SetKey(key, "1", presenceTTL)
			}
		}
	}()
	return func() {
		close(stop)
		cancel()
		s.calls.mu.Lock()
		cur := s.calls.presences[presenceKey(appID, m.openid)]
		s.calls.mu.Unlock()
		if cur == nil || cur == m { // a newer registration here keeps the key
			b.Del(key)
		}
	}
}

// fromCaller handles what a caller's gateway sends to presence m: an
// invite, or the end of a call ringing on it.
func (s *Server) fromCaller(m *member, appID string, raw []byte) {
	msg, err := proto.Decode(raw)
	if err != nil {
		s.log.Warn("calls: a bad message from another gateway", "err", err)
		return
	}
	switch msg.Type {
	case proto.TypeInvite:
		c := &call{id: msg.CallID, appID: appID, caller: *msg.Caller, listener: *msg.Listener,
			roomType: msg.RoomType, presence: m, remoteCaller: true}
		s.calls.mu.Lock()
		if s.busyLocked(appID, c.listener.OpenID, time.Now()) { // a call rings here already, or one was just accepted
			s.tellCallerLocked(c, callEnded(c.id, proto.ReasonListenerBusy))
			s.calls.mu.Unlock()
			m.log.Info("call from another gateway refused: busy", "callId", c.id, "caller", c.caller.OpenID)
			return
		}
		// The caller's gateway times the ring; this one only forgets a
		// call whose caller's gateway went silent.
		c.timer = time.AfterFunc(s.cfg.MaxRingTimeout+5*time.Second, func() { s.ringTimedOut(c) })
		s.calls.calls[c.id] = c
		s.calls.mu.Unlock()
		m.log.Info("call ringing from another gateway", "callId", c.id, "caller", c.caller.OpenID)
		m.send(&proto.Message{Type: proto.TypeInvite, RoomType: c.roomType, CallFields: proto.CallFields{
			CallID: c.id, Caller: &c.caller, Listener: &c.listener}})
	case proto.TypeCallEnded:
		s.calls.mu.Lock()
		defer s.calls.mu.Unlock()
		if c := s.calls.calls[msg.CallID]; c != nil && c.remoteCaller && c.state == callRinging {
			s.endRingingLocked(c, "", msg.Reason)
		}
	}
}

// ringRemote rings a listener registered at another gateway. Called under
// calls.mu by ring when no local presence exists.
func (s *Server) ringRemoteLocked(m *member, msg *proto.Message, c *call) *rejection {
	b := s.bus()
	here, err := b.Exists(presenceChannel(msg.AppID, msg.Listener.OpenID))
	switch {
	case err != nil:
		return reject(proto.ReasonInternal, "the server cannot reach the other gateways now")
	case !here:
		return reject(proto.ReasonOffline, "%s is not reachable for calls", msg.Listener.OpenID)
	}
	cancel, err := b.Subscribe(callChannel(msg.AppID, c.id), func(raw []byte) { s.fromListener(c, raw) })
	if err != nil {
		return reject(proto.ReasonInternal, "the server cannot reach the other gateways now")
	}
	c.unsubscribe = cancel
	c.remoteListener = true
	s.publish(presenceChannel(msg.AppID, msg.Listener.OpenID), &proto.Message{Type: proto.TypeInvite,
		RoomType: c.roomType, CallFields: proto.CallFields{CallID: c.id, Caller: &c.caller, Listener: &c.listener}})
	return nil
}

// fromListener handles the answer of a listener at another gateway to
// call c, which rings here.
func (s *Server) fromListener(c *call, raw []byte) {
	msg, err := proto.Decode(raw)
	if err != nil {
		s.log.Warn("calls: a bad message from another gateway", "err", err)
		return
	}
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	if s.calls.calls[c.id] != c || c.state != callRinging {
		return
	}
	switch msg.Type {
	case proto.TypeAccepted:
		c.timer.Stop()
		c.stopRemote()
		delete(s.calls.calls, c.id) // its tickets are in the bus
		c.callerConn.log.Info("call accepted at another gateway", "callId", c.id)
		c.callerConn.finish(msg)
	case proto.TypeCallEnded:
		c.stopRemote()
		s.endRingingLocked(c, msg.Reason, "")
	}
}

// tellCallerLocked ends the ringing of a call whose caller is at another
// gateway (reason: declined, offline, ...). Called under calls.mu.
func (s *Server) tellCallerLocked(c *call, m *proto.Message) {
	s.publish(callChannel(c.appID, c.id), m)
}

// acceptRemoteLocked accepts a call whose caller is at another gateway:
// both tickets go to the bus, the caller's with the answer. Called under
// calls.mu.
func (s *Server) acceptRemoteLocked(c *call, now time.Time) (listenerTicket string, ok bool) {
	b := s.bus()
	ttl := s.cfg.CallTicketTTL
	callerT, listenerT := NonceStr()+NonceStr(), NonceStr()+NonceStr()
	for _, t := range []struct{ openid, secret string }{{c.caller.OpenID, callerT}, {c.listener.OpenID, listenerT}} {
		if err := b.SetKey(ticketKey(c.appID, c.id, t.openid, t.secret), c.roomType, ttl); err != nil {
			s.log.Warn("calls: cannot store the call's tickets", "err", err)
			return "", false
		}
	}
	s.tellCallerLocked(c, &proto.Message{Type: proto.TypeAccepted, RoomType: c.roomType, CallFields: proto.CallFields{
		CallID: c.id, RoomID: c.roomID(), Ticket: callerT, Peer: c.listener.OpenID}})
	return listenerT, true
}

// redeemRemote spends a ticket stored in the bus (a call accepted across
// gateways); on success msg becomes the call room's join.
func (s *Server) redeemRemote(msg *proto.Message) *rejection {
	bad := reject(proto.ReasonTicket, "the ticket is unknown, used or expired")
	b := s.bus()
	if b == nil {
		return bad
	}
	callID := strings.TrimPrefix(msg.RoomID, proto.CallRoomPrefix)
	roomType, ok, err := b.GetDel(ticketKey(msg.AppID, callID, msg.OpenID, msg.Ticket))
	switch {
	case err != nil:
		return reject(proto.ReasonInternal, "the server cannot check the ticket now")
	case !ok:
		return bad
	}
	msg.GroupID = msg.RoomID
	if msg.RoomType == "" {
		msg.RoomType = roomType
	}
	return nil
}
