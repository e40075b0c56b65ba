package lk

import (
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// Token rooms on LiveKit (Douyin's RtcRoomContext through a gateway): the
// gateway turned the Volcengine token's privileges into LiveKit's grant,
// so LiveKit says whether this member may publish (its participant
// permission); what it publishes and whether it receives are this
// client's, as roomd's publish and receive messages are there. LiveKit
// cannot hold a room to a number of publishers: publishers_full is not
// said on LiveKit.

// RTCHandler is a Handler told of the token's life (package room's).
type RTCHandler interface {
	TokenExpiring(at time.Time)
	Removed(reason string)
}

const defaultTokenWarning = 30 * time.Second

// SetPublishing sets what this member publishes: stopped tracks send
// nothing (their senders carry no track) and are muted at LiveKit, so the
// others see them stop. Publishing without the token's grant is refused
// (permission).
func (s *Session) SetPublishing(audio, video bool) error {
	s.mu.Lock()
	can, asid, vsid := s.canPublish, s.audioSID, s.videoSID
	s.mu.Unlock()
	if (audio || video) && !can {
		return &room.Error{Reason: proto.ReasonPermission, Msg: "lk: the token does not grant publishing"}
	}
	if !can {
		return nil
	}
	if err := s.gate(s.audioTx, s.audio, asid, audio); err != nil {
		return err
	}
	if s.video != nil {
		if err := s.gate(s.videoTx, s.video, vsid, video); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.pubAudio, s.pubVideo = audio, video && s.video != nil
	s.mu.Unlock()
	return nil
}

// gate puts t on its sender tx (on) or takes it off, and mutes or unmutes
// the track sid at LiveKit to match.
func (s *Session) gate(tx *webrtc.RTPSender, t *webrtc.TrackLocalStaticRTP, sid string, on bool) error {
	var err error
	if on {
		err = tx.ReplaceTrack(t)
	} else {
		err = tx.ReplaceTrack(nil)
	}
	if err != nil {
		return &room.Error{Reason: proto.ReasonInternal, Msg: "lk: switching what is published: " + err.Error()}
	}
	if sid == "" {
		return nil
	}
	return s.send(&Request{Mute: &Mute{SID: sid, Muted: !on}})
}

// SetSubscribing starts or stops receiving every publisher of the room.
func (s *Session) SetSubscribing(on bool) error {
	if !s.p.RTC {
		return &room.Error{Reason: proto.ReasonParams, Msg: "lk: SetSubscribing is for token rooms"}
	}
	s.mu.Lock()
	s.receiving = on
	s.mu.Unlock()
	s.videoChanged(nil) // the subscriptions of every track (video.go)
	return nil
}

// Publishing is what this member publishes now (token rooms).
func (s *Session) Publishing() (audio, video bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pubAudio, s.pubVideo
}

// startExpiry arms the token's warning and end (token rooms whose token
// expires).
func (s *Session) startExpiry() {
	at := s.p.ExpireAt
	if !s.p.RTC || at.IsZero() {
		return
	}
	warn := s.p.TokenWarning
	if warn <= 0 {
		warn = defaultTokenWarning
	}
	rh, _ := s.h.(RTCHandler)
	s.mu.Lock()
	defer s.mu.Unlock()
	if rh != nil {
		s.expiry = append(s.expiry, time.AfterFunc(max(time.Until(at)-warn, 0), func() { rh.TokenExpiring(at) }))
	}
	s.expiry = append(s.expiry, time.AfterFunc(max(time.Until(at), 0), func() {
		s.log.Info("the token expired: leaving the room")
		if rh != nil {
			rh.Removed(proto.ReasonTokenExpired)
		}
		s.send(&Request{Leave: &Leave{Reason: reasonClientInitiated}})
		s.fail(&room.Error{Reason: proto.ReasonTokenExpired, Msg: "lk: the token expired"})
	}))
}
