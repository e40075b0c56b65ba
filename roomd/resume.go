package roomd

import (
	"fmt"
	"time"

	"github.com/voipd/voipd/proto"
)

// Resume: a group room member (or a call room's: a two-party call once
// answered is a room of two) whose connection drops keeps its seat for
// Config.ResumeGrace, and comes back with the resume ticket its joined
// carried (proto.Resume) — into the same seat while it is kept, or, after
// a restart of roomd (or at another roomd of the same app), into a
// re-created room in its first join's order. The others see no leave and
// no join: only a renegotiation for the member's new tracks.

const (
	defaultResumeGrace = 60 * time.Second
	defaultResumeTTL   = 12 * time.Hour
)

func resumeDefaults(cfg *Config) error {
	switch {
	case cfg.ResumeGrace < 0:
		return fmt.Errorf("roomd: Config.ResumeGrace %v is negative", cfg.ResumeGrace)
	case cfg.ResumeTTL < 0:
		return fmt.Errorf("roomd: Config.ResumeTTL %v is negative", cfg.ResumeTTL)
	case cfg.MediaTimeout < 0:
		return fmt.Errorf("roomd: Config.MediaTimeout %v is negative", cfg.MediaTimeout)
	}
	if cfg.ResumeGrace == 0 {
		cfg.ResumeGrace = defaultResumeGrace
	}
	if cfg.ResumeTTL == 0 {
		cfg.ResumeTTL = defaultResumeTTL
	}
	return nil
}

// seatsGone are the seats given up — left, or away past the grace — whose
// tickets are refused from then on: a seat is one join of a member (room
// key, openid and its first join's time), so a later fresh join of the
// same member gets a seat, and tickets, of its own. Under Server.mu.
type seatsGone map[string]goneSeat

type goneSeat struct {
	joined   int64     // the seat's first join, Unix ms
	forgetAt time.Time // its tickets have all expired then
}

func seatKey(roomKey, openid string) string { return roomKey + "\x00" + openid }

func (g seatsGone) add(roomKey, openid string, joined int64, forgetAt time.Time) {
	g[seatKey(roomKey, openid)] = goneSeat{joined: joined, forgetAt: forgetAt}
}

// has reports whether the seat of this join is given up, forgetting the
// entries whose tickets have expired.
func (g seatsGone) has(roomKey, openid string, joined int64, now time.Time) bool {
	for k, v := range g {
		if now.After(v.forgetAt) {
			delete(g, k)
		}
	}
	v, ok := g[seatKey(roomKey, openid)]
	return ok && v.joined == joined
}

// ticketLocked mints m's resume ticket in room r. Called under s.mu.
func (s *Server) ticketLocked(r *room, m *member, now time.Time) string {
	secret := s.auth.apps[m.appID]
	return proto.Resume{
		AppID: m.appID, Kind: m.kind, Room: m.groupID, Member: m.openid,
		RoomType: r.roomType, JoinType: m.roomType, Joined: m.joinedAt, Expires: now.Add(s.cfg.ResumeTTL).Unix(),
	}.Seal(secret)
}

// joinedLocked queues m's joined (with its ticket and the grace) and, in
// a video room, who publishes video. Called under s.mu, so that no members
// message of a concurrent join reaches m before it.
func (s *Server) joinedLocked(r *room, m *member, list []string) {
	joined := &proto.Message{Type: proto.TypeJoined, Members: list, ICEServers: s.cfg.ICEServers, ICERestart: true}
	if m.resumable {
		joined.Resume, joined.GraceMs = s.ticketLocked(r, m, time.Now()), s.cfg.ResumeGrace.Milliseconds()
	}
	m.send(joined)
	if r.roomType == proto.RoomVideo {
		m.send(&proto.Message{Type: proto.TypeVideoMembers, Members: r.videoList})
	}
}

// replaceLocked puts m, a member back with its ticket, into old's seat: the
// same place in the join order, old's tracks out of the others' peer
// connections and m's in, and the others' into m's. It returns the members
// to renegotiate (m and the others). Called under s.mu.
func (s *Server) replaceLocked(r *room, old, m *member) []*member {
	if old.away != nil {
		old.away.Stop()
	}
	old.stopMediaGrace() // m's connection has the seat now
	r.members[m.openid] = m
	m.publishing = old.publishing // its video is coming back: no flicker in videoMembers
	m.sub, m.subSet = old.sub, old.subSet
	changed := []*member{m}
	for _, id := range r.order {
		o := r.members[id]
		if o == m {
			continue
		}
		o.removeSender(m.openid)
		o.removeVideoSender(m.openid)
		if err := m.addSender(o); err != nil {
			m.log.Error("adding a member's track", "other", o.openid, "err", err)
		} else if err := o.addSender(m); err != nil {
			o.log.Error("adding a member's track", "other", m.openid, "err", err)
		}
		changed = append(changed, o)
	}
	s.reconcileVideoLocked(r)
	s.videoChangedLocked(r)
	return changed
}

// depart ends a connection's part in its room: a member that left, or that
// the server ended (refused, replaced, shut down), goes now; one whose
// connection dropped keeps its seat for the grace, for its resume.
func (s *Server) depart(m *member) {
	if m.left.Load() || m.ended.Load() || !m.resumable {
		if s.leave(m) && (m.left.Load() || m.mediaExpired.Load()) {
			s.mu.Lock()
			s.gone.add(m.key, m.openid, m.joinedAt, time.Now().Add(s.cfg.ResumeTTL))
			s.mu.Unlock()
		}
		return
	}
	s.mu.Lock()
	r := s.rooms[m.key]
	if s.closing || r == nil || r.members[m.openid] != m {
		s.mu.Unlock()
		s.leave(m)
		return
	}
	grace := m.graceLeft(s.cfg.ResumeGrace)
	m.away = time.AfterFunc(grace, func() { s.expire(m) })
	s.mu.Unlock()
	m.log.Info("connection lost: seat kept", "grace", grace)
}

// expire gives up the seat of a member that did not come back in time.
func (s *Server) expire(m *member) {
	if s.leave(m) {
		s.mu.Lock()
		s.gone.add(m.key, m.openid, m.joinedAt, time.Now().Add(s.cfg.ResumeTTL))
		s.mu.Unlock()
		m.log.Info("seat given up: no resume within the grace", "grace", s.cfg.ResumeGrace)
	}
}
