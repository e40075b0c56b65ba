package room

import (
	"fmt"
	"slices"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/proto/rtpcodecs"
)

// addVideo adds this device's video track before the first offer, so that
// it takes the server's recvonly video section (mid 1). The track is
// rtpcodecs.VP8, as roomd registers it: it forwards packets without
// re-encoding, so every member sends the same codec and feedback.
func (s *Session) addVideo(pc *webrtc.PeerConnection) error {
	s.mu.Lock()
	track := s.vtrack // the same across links: the caller writes to it
	s.mu.Unlock()
	if track == nil {
		var err error
		if track, err = webrtc.NewTrackLocalStaticRTP(rtpcodecs.VP8, "video", s.params.OpenID); err != nil {
			return fmt.Errorf("new video track: %w", err)
		}
	}
	sender, err := pc.AddTrack(s.gated(track, webrtc.RTPCodecTypeVideo))
	if err != nil {
		return fmt.Errorf("add video track: %w", err)
	}
	s.mu.Lock()
	s.vtrack, s.vsender = track, sender
	s.mu.Unlock()
	return nil
}

// dropUnplacedVideo runs after an answer: when the server's offer had no
// section for our video (a video join into a voice room), the video track
// goes, and VideoTrack and VideoSender return nil from then on.
func (s *Session) dropUnplacedVideo(pc *webrtc.PeerConnection) {
	s.mu.Lock()
	sender := s.vsender
	if sender == nil {
		s.mu.Unlock()
		return
	}
	for _, tr := range pc.GetTransceivers() {
		if tr.Sender() == sender && tr.Mid() != "" {
			s.mu.Unlock()
			return
		}
	}
	s.vtrack, s.vsender = nil, nil
	s.mu.Unlock()
	s.log.Info("the room has no video for this member: sending audio only")
	if err := pc.RemoveTrack(sender); err != nil {
		s.log.Debug("remove video track", "err", err)
	}
}

// VideoTrack is where this device's VP8 RTP goes (WriteRTP), nil unless
// this is a video join into a video room. pion fills in the SSRC and
// payload type; the caller packetises and sets sequence numbers and
// timestamps (90 kHz).
func (s *Session) VideoTrack() *webrtc.TrackLocalStaticRTP {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vtrack
}

// VideoSender is the RTPSender of VideoTrack, nil when that is. The caller
// must read its RTCP (ReadRTCP until it errs): pion's NACK responder runs in
// that read, and a PictureLossIndication or FullIntraRequest in it asks for
// a keyframe (roomd passes receivers' requests on, at most one per 500 ms).
func (s *Session) VideoSender() *webrtc.RTPSender {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vsender
}

// SubscribeVideo sets whose video this device receives, replacing the
// default (the first two other joiners when there are more than two) and
// any earlier list; an empty list receives none. The server renegotiates:
// VideoTrack and VideoTrackEnded follow.
func (s *Session) SubscribeVideo(openids []string) error {
	s.mu.Lock()
	s.sub, s.subSet = slices.Clone(openids), true // restated after a reconnect
	s.mu.Unlock()
	if err := s.write(&proto.Message{Type: proto.TypeSubscribe, OpenIDList: slices.Clone(openids)}); err != nil {
		return &Error{Reason: proto.ReasonUnreachable, Msg: "room: sending subscribe: " + err.Error()}
	}
	return nil
}

// RequestKeyframe asks member's camera for a keyframe (a PLI for that
// member's incoming video, which roomd passes on): the receiver lost a
// frame and cannot decode until the next keyframe.
func (s *Session) RequestKeyframe(member string) error {
	s.mu.Lock()
	t := s.vannounced[member]
	pc := s.pc
	s.mu.Unlock()
	if t == nil || pc == nil {
		return &Error{Reason: proto.ReasonParams, Msg: fmt.Sprintf("room: no video from %q is being received", member)}
	}
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}}); err != nil {
		return &Error{Reason: proto.ReasonUnreachable, Msg: "room: sending PLI: " + err.Error()}
	}
	return nil
}

// VideoMembers is the members publishing video (in join order) as the
// server last said.
func (s *Session) VideoMembers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.videoMembers)
}

func (s *Session) setVideoMembers(m []string) {
	s.mu.Lock()
	s.videoMembers = slices.Clone(m)
	s.mu.Unlock()
	if vh, ok := s.h.(VideoHandler); ok {
		vh.VideoMembersChanged(slices.Clone(m))
	}
}

// remoteVideo hands a member's forwarded video to the VideoHandler. A
// Handler without video gets none: roomd only sends video to video joins.
func (s *Session) remoteVideo(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	member := t.StreamID()
	s.mu.Lock()
	s.vannounced[member] = t
	s.mu.Unlock()
	s.log.Debug("member video", "member", member, "ssrc", t.SSRC())
	if vh, ok := s.h.(VideoHandler); ok {
		vh.VideoTrack(member, t, r)
	}
}
