package session

import (
	"context"
	"slices"
	"time"

	"github.com/voipd/voipd/media"
)

// handler receives one session's room events. Events of a session that is
// no longer the engine's (it left, or its join failed) are dropped.
type handler struct {
	e *Engine
	s *session
}

// live reports whether h's session is still the engine's. Call with e.mu
// held.
func (h handler) live() bool { return h.e.s == h.s }

func (h handler) MembersChanged(members []string) {
	h.e.mu.Lock()
	if !h.live() {
		h.e.mu.Unlock()
		return
	}
	had := h.s.members
	h.s.members = slices.Clone(members)
	if len(members) >= 2 {
		h.s.peerSeen = true
	}
	h.e.mu.Unlock()
	h.e.p.Events.Emit(MembersChanged{Room: h.s.kind, Members: nonNil(members)})
	h.s.fam.membersChanged(h.e, h.s, had, members)
}

// AudioTrack adds a member's audio to the call; a track that arrives while
// the join is finishing waits until the call exists.
func (h handler) AudioTrack(member string, t media.RTPReader) {
	h.e.mu.Lock()
	if !h.live() {
		h.e.mu.Unlock()
		return
	}
	call := h.s.call
	if call == nil {
		h.s.pending = append(h.s.pending, pendingTrack{member: member, audio: true, t: t})
	}
	h.e.mu.Unlock()
	if call != nil {
		call.AddMember(member, t)
	}
}

func (h handler) TrackEnded(member string) {
	h.e.mu.Lock()
	var call media.Call
	if h.live() {
		call = h.s.call
	}
	h.e.mu.Unlock()
	if call != nil {
		call.RemoveMember(member)
	}
}

// UplinkLoss passes the loss of the sent audio to the call, whose encoder
// sizes its FEC by it.
func (h handler) UplinkLoss(fraction float64) {
	h.e.mu.Lock()
	var call media.Call
	if h.live() {
		call = h.s.call
	}
	h.e.mu.Unlock()
	if call != nil {
		call.SetUplinkLoss(fraction)
	}
}

func (h handler) VideoTrack(member string, t media.RTPReader) {
	h.e.mu.Lock()
	if !h.live() {
		h.e.mu.Unlock()
		return
	}
	joined := h.s.call != nil
	if !joined {
		h.s.pending = append(h.s.pending, pendingTrack{member: member, t: t})
	}
	h.e.mu.Unlock()
	if joined {
		h.e.addVideoMember(h.s, member, t)
	}
}

func (h handler) VideoTrackEnded(member string) { h.e.removeVideoMember(h.s, member) }

func (h handler) VideoMembersChanged(members []string) {
	h.e.mu.Lock()
	live := h.live()
	h.e.mu.Unlock()
	if live {
		h.e.p.Events.Emit(VideoMembersChanged{Room: h.s.kind, Members: nonNil(members)})
	}
}

// Interrupted ends a room that was lost. While the join is finishing the
// loss fails the join instead; while leaving it is the leave's own close.
func (h handler) Interrupted(err error) {
	h.e.log.Warn("room interrupted", "err", err)
	h.e.lose(h.s, EndNetwork, err.Error(), err)
}

func (h handler) TokenExpiring(at time.Time) {
	h.e.mu.Lock()
	live := h.live()
	h.e.mu.Unlock()
	if live {
		h.e.p.Events.Emit(TokenExpiring{At: at})
	}
}

// Removed: the server removed this member (a token room: token expired,
// the same userId joined elsewhere). The room ends with that reason; the
// connection's close that follows is part of the leave.
func (h handler) Removed(reason string) {
	if h.e.beginLeave(h.s, EndRemoved, reason) {
		go h.e.finishLeave(context.Background(), h.s)
	}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// Reconnecting: the room client lost its connection and is getting back
// into the seat. The session stays, its media runs; requests that need
// the room server wait for the new connection or fail meanwhile.
func (h handler) Reconnecting(err error) {
	h.e.mu.Lock()
	moved := h.live() && h.e.state == InRoom && h.e.move(Reconnecting)
	h.e.mu.Unlock()
	if moved {
		h.e.log.Warn("room connection lost: reconnecting", "err", err)
		h.e.p.Events.Emit(RoomReconnecting{Room: h.s.kind, Err: err.Error()})
	}
}

// Reconnected: back in the seat.
func (h handler) Reconnected() {
	h.e.mu.Lock()
	moved := h.live() && h.e.state == Reconnecting && h.e.move(InRoom)
	h.e.mu.Unlock()
	if moved {
		h.e.log.Info("back in the room")
		h.e.keep(h.s) // its new ticket
		h.e.p.Events.Emit(RoomReconnected{Room: h.s.kind})
	}
}
