package roomd

import (
	"strings"
	"time"

	"github.com/voipd/voipd/proto"
)

// room is one group room: it exists while it has members. Its fields are
// guarded by Server.mu; membership changes are rare next to media, so one
// lock for all rooms keeps the join/leave bookkeeping simple.
type room struct {
	roster
	roomType  string   // proto.RoomVoice or RoomVideo: the first joiner's
	videoList []string // the members publishing video, as last sent
}

// join adds m to its room: the other members' tracks to m's PeerConnection
// and m's track to theirs. A member already there under the same openid is
// replaced (it gets error "duplicate"). Then m gets joined and its first
// offer, the others a new offer, and everyone the member list.
func (s *Server) join(m *member) *rejection {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return reject(proto.ReasonShutdown, "the room server is shutting down")
	}
	r := s.rooms[m.key]
	if r == nil {
		r = &room{roster: newRoster(), roomType: m.roomType}
		if m.resume != nil { // re-created after a restart: the room's type, whoever is back first
			r.roomType = m.resume.RoomType
		}
		if strings.HasPrefix(m.key[strings.IndexByte(m.key, 0)+1:], proto.CallRoomPrefix) {
			r.roomType = proto.RoomVideo // a call may switch to video at any time
		}
		s.rooms[m.key] = r
	}
	old := r.members[m.openid]
	if m.resume != nil {
		// Back with a ticket: to its seat while it is kept, or to a
		// re-created room after a restart, but not to a seat given up, nor
		// to one a newer join of the same member took: that is the
		// "duplicate" the replaced connection is told, whichever of the two
		// its client hears first (the error on its WebSocket, or its media
		// closing, which sends it back here with the ticket).
		if old != nil && old.joinedAt != m.joinedAt {
			s.mu.Unlock()
			return reject(proto.ReasonDuplicate, "the same openid joined the room again")
		}
		if old == nil && s.gone.has(m.key, m.openid, m.joinedAt, time.Now()) {
			if len(r.members) == 0 {
				delete(s.rooms, m.key)
			}
			s.mu.Unlock()
			return reject(proto.ReasonResume, "the seat this ticket is for was given up")
		}
	}
	if old == nil && len(r.members) >= s.cfg.MaxMembers {
		s.mu.Unlock()
		return reject(proto.ReasonRoomFull, "the room has %d members, the most it holds", s.cfg.MaxMembers)
	}
	// A voice join into a video room (and a video join into a voice room)
	// is audio only: the member gets no video section at all, so a client
	// that knows no video codec still works there.
	if r.roomType == proto.RoomVideo && m.roomType == proto.RoomVideo {
		if err := m.enableVideo(); err != nil {
			if len(r.members) == 0 {
				delete(s.rooms, m.key)
			}
			s.mu.Unlock()
			m.log.Error("join failed", "err", err)
			return reject(proto.ReasonInternal, "could not set up video")
		}
	}
	if old != nil && m.resume != nil {
		changed := s.replaceLocked(r, old, m)
		s.joinedLocked(r, m, r.list())
		s.mu.Unlock()
		old.fail("", "") // quietly: its client came back on another connection
		for _, c := range changed {
			c.negotiate()
		}
		return nil
	}
	if old != nil {
		s.detachLocked(r, old)
		s.rooms[m.key] = r // detaching the last member dropped the room
		old.fail(proto.ReasonDuplicate, "the same openid joined the room again")
	}
	others := r.others()
	for _, o := range others {
		if err := m.addSender(o); err != nil {
			m.log.Error("adding a member's track", "other", o.openid, "err", err)
		} else if err := o.addSender(m); err != nil {
			o.log.Error("adding a member's track", "other", m.openid, "err", err)
		}
	}
	if m.resume == nil {
		m.joinedAt = r.after(m.joinedAt)
	}
	r.add(m)
	s.reconcileVideoLocked(r) // everyone is renegotiated below anyway
	list, ver := r.list(), s.stampLocked()
	s.joinedLocked(r, m, list)
	s.mu.Unlock()
	s.announce(append([]*member{m}, others...), list, ver)
	return nil
}

// leave removes m from its room, if it is still the member under its openid
// (a duplicate join or a resume has already replaced it otherwise), and
// reports whether it did.
func (s *Server) leave(m *member) bool {
	s.mu.Lock()
	r := s.rooms[m.key]
	if r == nil || r.members[m.openid] != m {
		s.mu.Unlock()
		return false
	}
	if m.away != nil {
		m.away.Stop()
	}
	others := s.detachLocked(r, m)
	list, ver := r.list(), s.stampLocked()
	closing := s.closing
	s.mu.Unlock()
	m.log.Info("member gone")
	if !closing {
		// Shutting down, the others are ending too ("shutdown") and keep
		// their member lists for the resume: a list without m, racing their
		// final error out, made a client drop a member it would get back.
		s.announce(others, list, ver)
	}
	return true
}

// detachLocked takes m out of r and its tracks out of the others'
// PeerConnections (which may make room for another member's video under
// the default rule), returning the others. Called under s.mu.
func (s *Server) detachLocked(r *room, m *member) []*member {
	others := r.remove(m)
	if len(r.members) == 0 {
		delete(s.rooms, m.key)
		return others
	}
	s.reconcileVideoLocked(r)
	s.videoChangedLocked(r)
	return others
}

func (s *Server) broadcastMembers(to []*member, list []string, ver uint64) {
	for _, o := range to {
		o.listMu.Lock()
		if ver > o.listVer {
			o.listVer = ver
			o.send(&proto.Message{Type: proto.TypeMembers, Members: list})
		}
		o.listMu.Unlock()
	}
}
