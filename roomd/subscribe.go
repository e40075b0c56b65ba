package roomd

import (
	"slices"

	"github.com/voipd/voipd/proto"
)

// defaultVideoSubscriptions is how many members' video a member receives
// when it has not said whose: WeChat's rule, the first two joiners. Beyond
// two tiles a small screen shows postage stamps and the uplink of a
// 2-core device would carry the whole room.
const defaultVideoSubscriptions = 2

// selectVideo returns whose video the member self receives, in join order:
// of candidates (the room's video members in join order), those in sub when
// it subscribed explicitly, else all others when there are at most
// defaultVideoSubscriptions of them, else the first that many.
func selectVideo(self string, candidates, sub []string, subSet bool) []string {
	others := slices.DeleteFunc(slices.Clone(candidates), func(id string) bool { return id == self })
	if subSet {
		return slices.DeleteFunc(others, func(id string) bool { return !slices.Contains(sub, id) })
	}
	if len(others) > defaultVideoSubscriptions {
		others = others[:defaultVideoSubscriptions]
	}
	return others
}

// reconcileVideoLocked makes every video member of r receive exactly the
// video selectVideo picks for it, adding and removing forwarded tracks, and
// returns the members whose tracks changed (they need a new offer). The
// selection is made among members that joined for video, not only those
// already sending: a receiver's section is then in place before the first
// packet, and the publisher's first keyframe is not lost to a
// renegotiation. Called under s.mu.
func (s *Server) reconcileVideoLocked(r *room) []*member {
	var candidates []string
	for _, id := range r.order {
		if r.members[id].video {
			candidates = append(candidates, id)
		}
	}
	var changed []*member
	for _, id := range r.order {
		m := r.members[id]
		if !m.video {
			continue
		}
		want := selectVideo(id, candidates, m.sub, m.subSet)
		diff := false
		for have := range m.vsenders {
			if !slices.Contains(want, have) {
				m.removeVideoSender(have)
				diff = true
			}
		}
		for _, w := range want {
			if _, ok := m.vsenders[w]; ok {
				continue
			}
			if err := m.addVideoSender(r.members[w]); err != nil {
				m.log.Error("adding a member's video", "other", w, "err", err)
				continue
			}
			diff = true
		}
		if diff {
			changed = append(changed, m)
		}
	}
	return changed
}

// subscribe sets whose video m receives and renegotiates if that changed
// what it gets. A voice member's subscription is kept but has no effect.
func (s *Server) subscribe(m *member, list []string) {
	s.mu.Lock()
	r := s.rooms[m.key]
	if r == nil || r.members[m.openid] != m {
		s.mu.Unlock()
		return
	}
	m.sub, m.subSet = slices.Clone(list), true
	changed := s.reconcileVideoLocked(r)
	s.mu.Unlock()
	m.log.Debug("video subscription", "openIdList", list)
	for _, c := range changed {
		c.negotiate()
	}
}

// setPublishing records that m's video started or stopped arriving and
// tells the room if its list of video members changed.
func (s *Server) setPublishing(m *member, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[m.key]
	if r == nil || r.members[m.openid] != m || m.publishing == on {
		return
	}
	m.publishing = on
	s.videoChangedLocked(r)
}

// videoChangedLocked sends every member of r the members publishing video
// when that list differs from the last one sent. Sending under s.mu (the
// queue never blocks) keeps the messages of two changes in order. Called
// under s.mu.
func (s *Server) videoChangedLocked(r *room) {
	var list []string
	for _, id := range r.order {
		if r.members[id].publishing {
			list = append(list, id)
		}
	}
	if slices.Equal(list, r.videoList) {
		return
	}
	r.videoList = list
	for _, id := range r.order {
		r.members[id].send(&proto.Message{Type: proto.TypeVideoMembers, Members: list})
	}
}
