package roomd

import (
	"errors"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
)

// attachRTC forwards publisher's audio, and its video if it joined with
// video, to m. Called under Server.mu.
func (m *member) attachRTC(publisher *member) {
	if err := m.addSender(publisher); err != nil {
		m.log.Error("adding a publisher's audio", "other", publisher.openid, "err", err)
	}
	if publisher.vfwd == nil {
		return
	}
	if err := m.addVideoSender(publisher); err != nil {
		m.log.Error("adding a publisher's video", "other", publisher.openid, "err", err)
	}
}

// forwardRTC is the one read loop of a token-room member's upload. Packets
// are read whatever happens (pion's interceptors run in the read), but
// forwarded only while the member publishes that kind and its token still
// lets it: a subscriber-only member's media, or a publisher's after
// SetPublishing(false) or its publish privilege's expiry, reaches no one.
func (m *member) forwardRTC(t *webrtc.TrackRemote, f *forwarder) {
	fwd, gate := m.fwd, &m.rtc.sendAudio
	if t.Kind() == webrtc.RTPCodecTypeVideo {
		if m.vfwd == nil {
			return // not offered: pion would not have accepted it
		}
		m.vssrc.Store(uint32(t.SSRC()))
		fwd, gate = m.vfwd.TrackLocalStaticRTP, &m.rtc.sendVideo
	}
	m.log.Debug("rtc upload track", "kind", t.Kind().String(), "ssrc", t.SSRC())
	buf := make([]byte, 1500)
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if !gate.Load() || !m.rtc.mayPublish(time.Now()) {
			continue
		}
		_ = f.forward(fwd, buf[:n])
	}
}

// rtcMessage handles the messages only token-room members send; anything
// else a client sends is an error.
func (s *Server) rtcMessage(m *member, msg *proto.Message) error {
	if m.rtc == nil {
		return errors.New(msg.Type + " is not a message a client sends")
	}
	switch msg.Type {
	case proto.TypePublish:
		s.rtcPublish(m, msg.PublishAudio, msg.PublishVideo)
	case proto.TypeReceive:
		s.rtcReceive(m, *msg.Receive)
	default:
		return errors.New(msg.Type + " is not a message a client sends")
	}
	return nil
}

// rtcPublish sets what m sends and answers with published: what it sends
// now, or a refusal ("permission" without the publish privilege,
// "publishers_full" when it holds no slot and none is free, "params" for
// video without a video section) that leaves everything as it was. A
// member without a slot takes one here if its token allows and one is
// free; a slot is then held until it leaves, even while it sends nothing.
func (s *Server) rtcPublish(m *member, audio, video bool) {
	refuse := func(reason, msg string) {
		m.send(&proto.Message{Type: proto.TypePublished, Reason: reason, Message: msg})
	}
	s.mu.Lock()
	r := s.rtcRooms[m.key]
	if r == nil || r.members[m.openid] != m {
		s.mu.Unlock()
		return
	}
	if video && !m.video {
		s.mu.Unlock()
		refuse(proto.ReasonParams, "joined without video: there is no video to publish")
		return
	}
	var receivers []*member
	if audio || video {
		if !m.rtc.tok.CanPublish(time.Now()) {
			s.mu.Unlock()
			refuse(proto.ReasonPermission, "the token does not grant PublishStream")
			return
		}
		if !m.rtc.slot {
			if r.publishers >= s.cfg.RTCMaxPublishers {
				s.mu.Unlock()
				refuse(proto.ReasonPublishersFull, "the room has its maximum of publishers")
				return
			}
			m.rtc.slot = true
			r.publishers++
			for _, id := range r.order {
				if o := r.members[id]; o != m && o.rtc.receiving {
					o.attachRTC(m)
					receivers = append(receivers, o)
				}
			}
		}
	}
	videoOn := video && !m.rtc.sendVideo.Load()
	m.rtc.sendAudio.Store(audio)
	m.rtc.sendVideo.Store(video)
	canPublish := m.rtc.slot
	m.send(&proto.Message{Type: proto.TypePublished,
		RTCFields: proto.RTCFields{CanPublish: &canPublish, PublishAudio: audio, PublishVideo: video}})
	s.rtcVideoChangedLocked(r)
	s.mu.Unlock()
	m.log.Info("publish", "audio", audio, "video", video)
	if videoOn {
		// Receivers dropped everything before: they decode nothing until a
		// keyframe.
		m.requestKeyframe()
	}
	for _, o := range receivers {
		o.negotiate()
	}
}

// rtcReceive starts or stops forwarding the publishers' media to m.
func (s *Server) rtcReceive(m *member, on bool) {
	s.mu.Lock()
	r := s.rtcRooms[m.key]
	if r == nil || r.members[m.openid] != m || m.rtc.receiving == on {
		s.mu.Unlock()
		return
	}
	m.rtc.receiving = on
	for _, id := range r.order {
		o := r.members[id]
		switch {
		case o == m || !o.rtc.slot:
		case on:
			m.attachRTC(o)
		default:
			m.removeSender(o.openid)
			m.removeVideoSender(o.openid)
		}
	}
	s.mu.Unlock()
	m.log.Info("receive", "on", on)
	m.negotiate()
}

// rtcVideoChangedLocked sends every member of r the members publishing video
// when that list changed. Called under s.mu.
func (s *Server) rtcVideoChangedLocked(r *rtcRoom) {
	var list []string
	for _, id := range r.order {
		if o := r.members[id]; o.rtc.slot && o.rtc.sendVideo.Load() {
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

// startExpiry arms m's token timers: tokenExpiring RTCTokenWarning before
// the token's expiry (at once if that is already past), and removal
// ("token_expired") at it.
func (s *Server) startExpiry(m *member) {
	end := m.rtc.tok.Expiry()
	if end.IsZero() {
		return
	}
	// Set and stopped by serveRTC's goroutine alone: no lock.
	m.rtc.warn = time.AfterFunc(max(0, time.Until(end.Add(-s.cfg.RTCTokenWarning))), func() {
		m.send(&proto.Message{Type: proto.TypeTokenExpiring, RTCFields: proto.RTCFields{ExpireAt: end.Unix()}})
	})
	m.rtc.end = time.AfterFunc(time.Until(end), func() {
		m.log.Info("token expired: removing the member")
		m.fail(proto.ReasonTokenExpired, "the token expired")
	})
}

func (r *rtcMember) stopExpiry() {
	if r.warn != nil {
		r.warn.Stop()
		r.end.Stop()
	}
}
