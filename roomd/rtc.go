package roomd

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd/token"
)

// Token rooms (join kind "rtc"): Volcengine-style RTC rooms. A member
// proves its right to join with a token minted from its app's secret (the
// AppKey) instead of a signature; the token also says whether it may
// publish. Rooms hold RTCMaxMembers members of whom RTCMaxPublishers hold a
// publisher slot; only slot holders' media is ever forwarded.

// Defaults of the token-room config (Volcengine's limits).
const (
	defaultRTCMaxMembers    = 50
	defaultRTCMaxPublishers = 30
	defaultRTCTokenWarning  = 30 * time.Second
)

// rtcDefaults checks and completes the token-room part of cfg.
func rtcDefaults(cfg *Config) error {
	switch {
	case cfg.RTCMaxMembers < 0:
		return fmt.Errorf("roomd: Config.RTCMaxMembers %d is negative", cfg.RTCMaxMembers)
	case cfg.RTCMaxPublishers < 0:
		return fmt.Errorf("roomd: Config.RTCMaxPublishers %d is negative", cfg.RTCMaxPublishers)
	case cfg.RTCTokenWarning < 0:
		return fmt.Errorf("roomd: Config.RTCTokenWarning %v is negative", cfg.RTCTokenWarning)
	}
	if cfg.RTCMaxMembers == 0 {
		cfg.RTCMaxMembers = defaultRTCMaxMembers
	}
	if cfg.RTCMaxPublishers == 0 {
		cfg.RTCMaxPublishers = defaultRTCMaxPublishers
	}
	// More slots than members could never be used; a config that sets
	// only the room size means "at most everyone publishes".
	cfg.RTCMaxPublishers = min(cfg.RTCMaxPublishers, cfg.RTCMaxMembers)
	if cfg.RTCTokenWarning == 0 {
		cfg.RTCTokenWarning = defaultRTCTokenWarning
	}
	return nil
}

// rtcRoom is one token room; like room, guarded by Server.mu.
type rtcRoom struct {
	roster
	publishers int      // members holding a publisher slot
	videoList  []string // the members publishing video, as last sent
}

// rtcMember is a member's token-room state (member.rtc; nil in other rooms).
type rtcMember struct {
	tok *token.Token
	// publishUntil is when the token's publish privileges end (Unix
	// seconds, 0 = never); the forwarding loops check it per packet.
	publishUntil int64

	// Under Server.mu: whether it holds a publisher slot (held until it
	// leaves) and whether it receives the publishers' media.
	slot      bool
	receiving bool
	// What it may send now: read by its forwarding loops without the lock.
	sendAudio, sendVideo atomic.Bool

	warn, end *time.Timer // the expiry timers, nil when the token never expires
}

func rtcKey(appID, roomID string) string { return "rtc\x00" + appID + "\x00" + roomID }

// checkToken verifies an rtc join's token for its app, room and user. An
// unknown app, or one whose id is not a Volcengine AppID, is
// "token_invalid" like a bad signature: nothing the client holds can be
// checked.
func (s *Server) checkToken(join *proto.Message, now time.Time) (*token.Token, *rejection) {
	secret, ok := s.auth.apps[join.AppID]
	if !ok || len(join.AppID) != token.AppIDLen {
		return nil, reject(proto.ReasonTokenInvalid, "unknown appId, or not an RTC app (a %d-character id)", token.AppIDLen)
	}
	if join.RoomID == "*" {
		return nil, reject(proto.ReasonParams, `roomId "*" is for tokens, not rooms`)
	}
	tok, err := token.Verify(join.Token, join.AppID, secret, join.RoomID, join.UserID, now)
	switch {
	case errors.Is(err, token.ErrExpired):
		return nil, reject(proto.ReasonTokenExpired, "the token expired")
	case err != nil:
		// The error names what is wrong (signature, app, room, user,
		// framing), never the token itself.
		return nil, reject(proto.ReasonTokenInvalid, "%v", err)
	}
	return tok, nil
}

// publishDeadline is the end of the token's right to publish: the latest
// expiry among its publish privileges, capped by the token's own (Unix
// seconds, 0 = never).
func publishDeadline(t *token.Token) int64 {
	var last int64
	forever := false
	for _, p := range []token.Privilege{token.PublishStream, token.PublishAudioStream, token.PublishVideoStream} {
		at, ok := t.Privileges[p]
		switch {
		case !ok:
		case at == 0:
			forever = true
		default:
			last = max(last, int64(at))
		}
	}
	if forever {
		last = 0
	}
	if t.ExpireAt != 0 && (last == 0 || int64(t.ExpireAt) < last) {
		last = int64(t.ExpireAt)
	}
	return last
}

// mayPublish reports whether the token still allows publishing.
func (r *rtcMember) mayPublish(now time.Time) bool {
	return r.publishUntil == 0 || now.Unix() < r.publishUntil
}

// serveRTC runs a token-room member from its join to its leave; serveWS
// hands it the connection after reading the join.
func (s *Server) serveRTC(m *member, join *proto.Message) {
	now := time.Now()
	tok, rej := s.checkToken(join, now)
	if rej != nil {
		s.counters.join(proto.KindRTC, rej.reason)
		s.refusals.add(rej.reason, m.remote, rej.msg) // like a bad signature: a flood must not log a line each
		m.fail(rej.reason, rej.msg)
		return
	}
	m.openid = join.UserID
	m.key = rtcKey(join.AppID, join.RoomID)
	m.log = m.log.With("userId", join.UserID, "roomId", join.RoomID)
	m.roomType = join.RoomType
	if m.roomType == "" {
		m.roomType = proto.RoomVoice
	}
	m.rtc = &rtcMember{tok: tok, publishUntil: publishDeadline(tok), receiving: proto.BoolOr(join.AutoSubscribe, true)}
	m.resumable = true // its seat outlives a dropped connection (departRTC)
	if err := m.newPeer(s.api); err != nil {
		m.log.Error("rtc join failed", "err", err)
		m.fail(proto.ReasonInternal, "could not set up media")
		return
	}
	defer m.pc.Close()
	defer m.stopKeyframes()
	// Video before the first offer, so that the upload section is mid 1 as
	// in group rooms.
	if m.roomType == proto.RoomVideo {
		if err := m.enableVideo(); err != nil {
			m.log.Error("rtc join failed", "err", err)
			m.fail(proto.ReasonInternal, "could not set up video")
			return
		}
	}
	if rej := s.joinRTC(m, proto.BoolOr(join.AutoPublish, true)); rej != nil {
		s.counters.join(proto.KindRTC, rej.reason)
		m.log.Info("rtc join refused", "reason", rej.reason, "detail", rej.msg)
		m.fail(rej.reason, rej.msg)
		return
	}
	s.counters.join(proto.KindRTC, "ok")
	m.log.Info("joined", "canPublish", m.rtc.slot)
	defer s.departRTC(m)
	s.startExpiry(m)
	defer m.rtc.stopExpiry()

	m.conn.SetPongHandler(func(string) error {
		return m.conn.SetReadDeadline(time.Now().Add(readWait))
	})
	m.readLoop()
}

// joinRTC adds m to its token room. A member there under the same userId is
// replaced (it gets error "duplicate"). m gets a publisher slot if its
// token lets it publish and one is free; it receives the slot holders'
// media if it subscribes, and they its media if it holds a slot.
func (s *Server) joinRTC(m *member, autoPublish bool) *rejection {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return reject(proto.ReasonShutdown, "the room server is shutting down")
	}
	if s.rtcRooms == nil {
		s.rtcRooms = map[string]*rtcRoom{}
	}
	r := s.rtcRooms[m.key]
	if r == nil {
		r = &rtcRoom{roster: newRoster()}
		s.rtcRooms[m.key] = r
	}
	old := r.members[m.openid]
	if old == nil && len(r.members) >= s.cfg.RTCMaxMembers {
		s.mu.Unlock()
		return reject(proto.ReasonRoomFull, "the room has %d members, the most it holds", s.cfg.RTCMaxMembers)
	}
	if old != nil {
		// The same userId again: its own client back after a dropped
		// connection (the seat was kept), or the token used elsewhere.
		// Either way it takes the seat in place: the others see no leave
		// and no join, and it keeps its publisher slot while its token
		// allows publishing.
		s.takeSeatRTCLocked(r, old, m)
	}
	if !m.rtc.slot && m.rtc.tok.CanPublish(time.Now()) && r.publishers < s.cfg.RTCMaxPublishers {
		m.rtc.slot = true
		r.publishers++
	}
	if m.rtc.slot && autoPublish {
		m.rtc.sendAudio.Store(true)
		m.rtc.sendVideo.Store(m.video)
	}
	others := slices.DeleteFunc(r.others(), func(o *member) bool { return o == m }) // m is in old's place
	for _, o := range others {
		if m.rtc.receiving && o.rtc.slot {
			m.attachRTC(o)
		}
		if o.rtc.receiving && m.rtc.slot {
			o.attachRTC(m)
		}
	}
	if old == nil {
		r.add(m)
	}
	list, ver := r.list(), s.stampLocked()
	canPublish := m.rtc.slot
	m.send(&proto.Message{Type: proto.TypeJoined, Members: list, ICEServers: s.cfg.ICEServers, ICERestart: true,
		GraceMs: s.cfg.ResumeGrace.Milliseconds(),
		RTCFields: proto.RTCFields{CanPublish: &canPublish, PublishAudio: m.rtc.sendAudio.Load(),
			PublishVideo: m.rtc.sendVideo.Load(), ExpireAt: int64(m.rtc.tok.ExpireAt)}})
	m.send(&proto.Message{Type: proto.TypeVideoMembers, Members: r.videoList})
	s.rtcVideoChangedLocked(r)
	s.mu.Unlock()
	if old != nil {
		// The member list is what it was: only m and the others' media
		// change.
		old.fail(proto.ReasonDuplicate, "the same userId joined the room again")
		for _, o := range append([]*member{m}, others...) {
			o.negotiate()
		}
		s.broadcastMembers([]*member{m}, list, ver)
		return nil
	}
	s.announce(append([]*member{m}, others...), list, ver)
	return nil
}

// takeSeatRTCLocked puts m into old's seat in r: old's place in the order,
// its publisher slot, none of its media (m attaches its own). Called under
// s.mu.
func (s *Server) takeSeatRTCLocked(r *rtcRoom, old, m *member) {
	if old.away != nil {
		old.away.Stop()
	}
	old.stopMediaGrace()
	for _, o := range r.others() {
		if o != old {
			o.removeSender(old.openid)
			o.removeVideoSender(old.openid)
		}
	}
	m.rtc.slot = old.rtc.slot && m.rtc.tok.CanPublish(time.Now())
	if old.rtc.slot && !m.rtc.slot {
		r.publishers--
	}
	old.rtc.slot = false // its departure frees nothing now
	r.members[m.openid] = m
}

// departRTC ends a connection's part in its token room: a member that
// left, or that the server ended (refused, replaced, expired, shut down),
// goes now; one whose connection dropped keeps its seat for the grace
// (Config.ResumeGrace, never past its token's expiry), for its client to
// join again with its token.
func (s *Server) departRTC(m *member) {
	if m.left.Load() || m.ended.Load() {
		s.leaveRTC(m)
		return
	}
	grace := m.graceLeft(s.rtcGrace(m))
	s.mu.Lock()
	r := s.rtcRooms[m.key]
	if s.closing || r == nil || r.members[m.openid] != m || grace <= 0 {
		s.mu.Unlock()
		s.leaveRTC(m)
		return
	}
	m.away = time.AfterFunc(grace, func() {
		s.leaveRTC(m)
		m.log.Info("seat given up: not back within the grace", "grace", grace)
	})
	s.mu.Unlock()
	m.log.Info("connection lost: seat kept", "grace", grace)
}

// rtcGrace is how long token room member m's seat is kept: the server's
// grace, never past its token's expiry.
func (s *Server) rtcGrace(m *member) time.Duration {
	grace := s.cfg.ResumeGrace
	if end := m.rtc.tok.Expiry(); !end.IsZero() {
		grace = min(grace, time.Until(end))
	}
	return grace
}

// leaveRTC removes m from its token room, if it is still the member under
// its userId (a duplicate join has already replaced it otherwise).
func (s *Server) leaveRTC(m *member) {
	s.mu.Lock()
	r := s.rtcRooms[m.key]
	if r == nil || r.members[m.openid] != m {
		s.mu.Unlock()
		return
	}
	others := s.detachRTCLocked(r, m)
	list, ver := r.list(), s.stampLocked()
	s.mu.Unlock()
	m.log.Info("member gone")
	s.announce(others, list, ver)
}

// detachRTCLocked takes m out of r, frees its publisher slot and stops
// forwarding its media to the others, returning them. Called under s.mu.
func (s *Server) detachRTCLocked(r *rtcRoom, m *member) []*member {
	if m.rtc.slot {
		r.publishers--
	}
	others := r.remove(m)
	if len(r.members) == 0 {
		delete(s.rtcRooms, m.key)
		return others
	}
	s.rtcVideoChangedLocked(r)
	return others
}
