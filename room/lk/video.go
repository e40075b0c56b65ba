package lk

import (
	"fmt"
	"slices"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// Video in a LiveKit room, as in roomd's: this member publishes VP8 when
// it joined with video into a video room; it receives the others' video
// by WeChat's rule — the members of its latest SubscribeVideo, else all
// the others publishing video when there are at most two, else the first
// two by join order. LiveKit subscribes a client to every track (auto
// subscription); the rule is kept with UpdateSubscription requests, and a
// track LiveKit delivers against it is not handed on.

// VideoTrack is where this device's VP8 RTP goes, nil unless it publishes
// video.
func (s *Session) VideoTrack() *webrtc.TrackLocalStaticRTP { return s.video }

// VideoSender is VideoTrack's sender, nil when that is: its RTCP (PLIs,
// NACKs) is the caller's to read.
func (s *Session) VideoSender() *webrtc.RTPSender { return s.videoTx }

// VideoMembers is the members publishing video, in join order.
func (s *Session) VideoMembers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.videoList)
}

// SubscribeVideo sets whose video this device receives, replacing the
// default rule; an empty list receives none.
func (s *Session) SubscribeVideo(members []string) error {
	s.mu.Lock()
	s.vsel, s.vselSet = slices.Clone(members), true
	s.mu.Unlock()
	s.videoChanged(nil)
	return nil
}

// RequestKeyframe asks member's camera for a keyframe: a PLI for its
// incoming video, which LiveKit passes on to the publisher.
func (s *Session) RequestKeyframe(member string) error {
	s.mu.Lock()
	t := s.vrecv[member]
	s.mu.Unlock()
	if t == nil {
		return &room.Error{Reason: proto.ReasonParams, Msg: fmt.Sprintf("lk: no video from %q is being received", member)}
	}
	if err := s.sub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}}); err != nil {
		return &room.Error{Reason: proto.ReasonUnreachable, Msg: "lk: sending PLI: " + err.Error()}
	}
	return nil
}

// videoTrackOf is the sid of a participant's published video track, "".
func videoTrackOf(p Participant) string {
	for _, t := range p.Tracks {
		if t.Type == TrackVideo {
			return t.SID
		}
	}
	return ""
}

// selectedLocked is the set of members whose video this member receives.
// Called under s.mu.
func (s *Session) selectedLocked() map[string]bool {
	sel := map[string]bool{}
	if s.p.RTC { // a token room: every publisher, while receiving
		for _, m := range s.videoList {
			sel[m] = s.receiving && m != s.p.Identity
		}
		return sel
	}
	if s.vselSet {
		for _, m := range s.vsel {
			sel[m] = true
		}
		return sel
	}
	var others []string
	for _, m := range s.videoList {
		if m != s.p.Identity {
			others = append(others, m)
		}
	}
	if len(others) > 2 {
		others = others[:2]
	}
	for _, m := range others {
		sel[m] = true
	}
	return sel
}

// videoEndedLocked forgets the video of members that left and returns
// them. Called under s.mu.
func (s *Session) videoEndedLocked(left []string) []string {
	var ended []string
	for _, who := range left {
		if s.vrecv[who] != nil {
			delete(s.vrecv, who)
			ended = append(ended, who)
		}
	}
	return ended
}

// videoChanged recomputes who publishes video and which of them this
// member receives, tells LiveKit the subscriptions that changed and the
// handler what it needs to know; ended are members whose video stopped
// already (they left).
func (s *Session) videoChanged(ended []string) {
	vh, _ := s.h.(VideoHandler)
	s.mu.Lock()
	var list []string
	for _, m := range s.members {
		if m == s.p.Identity {
			if s.video != nil {
				list = append(list, m)
			}
			continue
		}
		for _, p := range s.parts {
			if p.Identity == m && videoTrackOf(p) != "" {
				list = append(list, m)
				break
			}
		}
	}
	listChanged := !slices.Equal(list, s.videoList)
	s.videoList = list
	sel := s.selectedLocked()
	var on, off, audioEnded []string
	for _, p := range s.parts {
		for _, t := range p.Tracks {
			var want bool
			switch {
			case s.p.RTC: // token rooms: every track while receiving
				want = s.receiving && (t.Type != TrackVideo || vh != nil)
			case t.Type == TrackVideo: // group rooms: WeChat's rule
				want = sel[p.Identity] && vh != nil
			default: // group rooms' audio: LiveKit's auto-subscription
				continue
			}
			was, known := s.vwant[t.SID]
			if !known {
				was = !s.p.RTC // auto-subscribed in group rooms, not in token rooms
			}
			s.vwant[t.SID] = want
			if was == want {
				continue
			}
			if want {
				on = append(on, t.SID)
				continue
			}
			off = append(off, t.SID)
			switch {
			case t.Type == TrackVideo && s.vrecv[p.Identity] != nil:
				delete(s.vrecv, p.Identity)
				ended = append(ended, p.Identity)
			case t.Type == TrackAudio && s.arecv[p.Identity]:
				delete(s.arecv, p.Identity)
				audioEnded = append(audioEnded, p.Identity)
			}
		}
	}
	s.mu.Unlock()
	for _, req := range []struct {
		sids []string
		sub  bool
	}{{off, false}, {on, true}} {
		if len(req.sids) == 0 {
			continue
		}
		if err := s.send(&Request{Subscription: &Subscription{TrackSIDs: req.sids, Subscribe: req.sub}}); err != nil {
			s.log.Debug("video subscription", "err", err)
		}
	}
	for _, who := range audioEnded {
		s.h.TrackEnded(who)
	}
	if vh == nil {
		return
	}
	for _, who := range ended {
		vh.VideoTrackEnded(who)
	}
	if listChanged {
		vh.VideoMembersChanged(slices.Clone(list))
	}
}

// deliverVideo hands a member's video to the VideoHandler if this member
// receives it; one LiveKit sends against the rule (its auto-subscription,
// before the unsubscription lands) is read and dropped.
func (s *Session) deliverVideo(who string, rt remoteTrack) {
	vh, _ := s.h.(VideoHandler)
	s.mu.Lock()
	take := vh != nil && s.selectedLocked()[who]
	if take {
		s.vrecv[who] = rt.t
	}
	s.mu.Unlock()
	if !take {
		go drainTrack(rt.t)
		return
	}
	s.log.Debug("member's video", "member", who, "ssrc", rt.t.SSRC())
	vh.VideoTrack(who, rt.t, rt.r)
}
