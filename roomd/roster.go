package roomd

import "slices"

// roster is who is in a room, group or token: the members by id and their
// join order (member lists go out in it, so every client sees the same
// order). Both room kinds embed it; it is used under Server.mu.
type roster struct {
	members map[string]*member // openid or userId → member
	order   []string           // ids in join order
}

func newRoster() roster { return roster{members: map[string]*member{}} }

// list is the ids in join order, a copy to send after the lock is released.
func (r *roster) list() []string { return slices.Clone(r.order) }

// others is the members, in join order (before a join: all but the joiner).
func (r *roster) others() []*member {
	out := make([]*member, 0, len(r.order))
	for _, id := range r.order {
		out = append(out, r.members[id])
	}
	return out
}

// add puts m in its place in the join order: after every member that
// joined before it (a member back after a restart of the server keeps its
// first join's place), at the end for a fresh join.
func (r *roster) add(m *member) {
	r.members[m.openid] = m
	i := len(r.order)
	for i > 0 && m.joinedAt != 0 && r.members[r.order[i-1]].joinedAt > m.joinedAt {
		i--
	}
	r.order = slices.Insert(r.order, i, m.openid)
}

// after returns t, or just after the latest join in the room if t is not
// later: joins within one millisecond still get distinct times in their
// order (resume tickets carry them, and a re-created room orders by them).
func (r *roster) after(t int64) int64 {
	for _, m := range r.members {
		if m.joinedAt >= t {
			t = m.joinedAt + 1
		}
	}
	return t
}

// remove takes m out and its media out of the others' PeerConnections,
// returning the others.
func (r *roster) remove(m *member) []*member {
	delete(r.members, m.openid)
	r.order = slices.DeleteFunc(r.order, func(id string) bool { return id == m.openid })
	others := r.others()
	for _, o := range others {
		o.removeSender(m.openid)
		o.removeVideoSender(m.openid)
	}
	return others
}

// announce follows a membership change, outside Server.mu: each member
// whose PeerConnection changed offers again, and each learns the list,
// unless it already has a later one (versions from stampLocked).
func (s *Server) announce(changed []*member, list []string, ver uint64) {
	for _, o := range changed {
		o.negotiate()
	}
	s.broadcastMembers(changed, list, ver)
}

// stampLocked versions a member list just computed from a room: lists are
// computed under Server.mu, so versions follow the changes' order. Called
// under s.mu.
func (s *Server) stampLocked() uint64 { return s.listVer.Add(1) }
