package session

import (
	"context"
)

// currentOf is the session if it is in a room of kind k (and, when id is
// not empty, that room). Call with e.mu held.
func (e *Engine) currentOf(k Kind, id string) (*session, error) {
	s, err := e.current()
	if err != nil || s.kind != k {
		return nil, notInRoom("not in a room")
	}
	if id != "" && id != s.id {
		return nil, notInRoom("not in room %s (in %s)", id, s.id)
	}
	return s, nil
}

// ExitRTC leaves token room roomID (exitRtcRoom), or cancels its join.
func (e *Engine) ExitRTC(ctx context.Context, roomID string) error {
	e.mu.Lock()
	if s := e.s; s != nil && e.state == Joining && s.kind == KindRTC && s.id == roomID {
		e.mu.Unlock()
		s.cancelJoin(ErrExitWhileJoining)
		<-s.joinDone
		return nil
	}
	s, err := e.currentOf(KindRTC, roomID)
	e.mu.Unlock()
	if err != nil {
		return err
	}
	e.leave(ctx, s, EndLocal, "exitRtcRoom")
	return nil
}

// LeaveRTC leaves the token room the device is in, or cancels its join
// (destroyRtcRoomContext: nothing may be left that its context would
// have to exit).
func (e *Engine) LeaveRTC(ctx context.Context) {
	e.mu.Lock()
	s, st := e.s, e.state
	e.mu.Unlock()
	if s == nil || s.kind != KindRTC {
		return
	}
	switch st {
	case Joining:
		s.cancelJoin(ErrExitWhileJoining)
		<-s.joinDone
	case InRoom, Reconnecting:
		e.leave(ctx, s, EndLocal, "destroyRtcRoomContext")
	}
}

// SetCapture turns the microphone (audio) or the camera on or off in the
// token room (changeAudioCapture, changeVideoCapture): what is off is
// neither captured into the room nor published. The microphone's state is
// the session's one mute state.
func (e *Engine) SetCapture(audio, on bool) error {
	e.mu.Lock()
	s, err := e.currentOf(KindRTC, "")
	if err != nil {
		e.mu.Unlock()
		return err
	}
	if audio {
		s.mute.MuteMicrophone = !on
		s.call.SetMute(s.mute.MuteMicrophone, s.mute.MuteEarphone)
	} else {
		s.videoOn = on
	}
	pubAudio, pubVideo := !s.mute.MuteMicrophone, s.videoOn
	v, r := s.video, s.room
	var snd interface{ SetPaused(bool) }
	sending := v != nil && v.state == camSending
	if sending {
		snd = v.send
	}
	e.mu.Unlock()
	if err := r.SetPublishing(pubAudio, pubVideo && sending); err != nil {
		return err
	}
	if snd != nil {
		snd.SetPaused(!pubVideo)
	}
	e.keep(s)
	return nil
}

// SetSubscribing starts (or stops) receiving every publisher of the token
// room (changeSubscribeState).
func (e *Engine) SetSubscribing(on bool) error {
	e.mu.Lock()
	s, err := e.currentOf(KindRTC, "")
	e.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.room.SetSubscribing(on); err != nil {
		return err
	}
	e.mu.Lock()
	s.receive = on
	e.mu.Unlock()
	e.keep(s)
	return nil
}

// SwitchCamera swaps the front camera (video.camera) and the back one
// (video.back) under the running token room's video; it returns the
// position now sending, "front" or "back".
func (e *Engine) SwitchCamera() (string, error) {
	e.mu.Lock()
	s, err := e.currentOf(KindRTC, "")
	if err != nil {
		e.mu.Unlock()
		return "", err
	}
	v := s.video
	e.mu.Unlock()
	if e.cfg.Video.Back == "" {
		return "", Fail(ErrSystem, ReasonAbsent, "no back camera configured (video.back)")
	}
	if v == nil {
		return "", Fail(ErrSystem, ReasonAbsent, "this member sends no video")
	}
	e.mu.Lock()
	back := !v.back
	e.mu.Unlock()
	id, position := e.cfg.Video.Camera, "front"
	if back {
		id, position = e.cfg.Video.Back, "back"
	}
	cam, err := e.openCamera(id)
	if err != nil {
		return "", err
	}
	e.stopSender(v)
	e.mu.Lock()
	v.back = back
	e.mu.Unlock()
	if err := e.startSender(s, cam); err != nil {
		cam.Close()
		return "", err
	}
	return position, nil
}

// SwitchCall switches the running call between voice and video
// (switch1v1Chat). mayUseCamera is the client's camera scope, asked only
// when the camera has to open.
func (e *Engine) SwitchCall(roomType string, mayUseCamera func() error) (string, error) {
	e.mu.Lock()
	s, err := e.currentOf(KindCall, "")
	if err != nil {
		e.mu.Unlock()
		return "", notInRoom("not in a call")
	}
	cur, v, noVoice, callID := s.roomType, s.video, s.noSwitchVoice, s.callID
	e.mu.Unlock()
	switch {
	case roomType == cur:
		return cur, nil
	case roomType == "voice" && noVoice:
		return "", Fail(ErrSystem, ReasonDisabled, "this call does not switch to voice (disableSwitchVoice)")
	case roomType == "voice":
		if v != nil {
			e.stopSender(v)
			if d := e.p.Display; d != nil {
				d.RemoveSource(selfSource)
				d.RemoveSource(selfBackSource)
			}
		}
	case v == nil:
		return "", Fail(ErrNoDevice, ReasonAbsent, "this device has no camera to switch to video")
	default:
		if err := mayUseCamera(); err != nil {
			return "", err
		}
		cam, err := e.openCamera(e.cfg.Video.Camera)
		if err != nil {
			return "", err
		}
		if err := e.startSender(s, cam); err != nil {
			cam.Close()
			return "", err
		}
	}
	e.mu.Lock()
	s.roomType = roomType
	e.mu.Unlock()
	e.p.Events.Emit(CallSwitched{CallID: callID, RoomType: roomType})
	return roomType, nil
}
