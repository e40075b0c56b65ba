package daemon

import (
	"context"
	"time"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// rtcContext is Douyin's RtcRoomContext: created with an app id, destroyed
// for good (later calls answer 115910 until a new one is created).
type rtcContext struct {
	created bool
	appID   string
	userID  string // of the room joined
	audio   bool   // changeAudioCapture state
	video   bool   // changeVideoCapture state
	back    bool   // switchCamera: the back camera is in use
}

func (d *Daemon) rtcUser() string { return d.rtc.userID }

// rtcCtx returns the context, or 115910 when there is none. Call with d.mu
// held.
func (d *Daemon) rtcCtx() (*rtcContext, error) {
	if !d.rtc.created {
		return nil, fail(kindDestroyed, reasonDisabled, "engine has been destroyed, please invoke createRtcRoomContext create new engine")
	}
	return &d.rtc, nil
}

func (d *Daemon) createRtcRoomContext(ctx context.Context, r *control.Request) (map[string]any, error) {
	var p struct {
		AppID *string `json:"appId"`
	}
	if err := decodeParams(r.Params, &p); err != nil {
		return nil, err
	}
	if p.AppID == nil || *p.AppID == "" {
		return nil, control.InvalidParams("appId", "is required")
	}
	d.mu.Lock()
	d.rtc = rtcContext{created: true, appID: *p.AppID, audio: true, video: true}
	d.mu.Unlock()
	return nil, nil
}

func (d *Daemon) destroyRtcRoomContext(ctx context.Context, r *control.Request) (map[string]any, error) {
	d.mu.Lock()
	_, err := d.rtcCtx()
	s, st := d.sess, d.state
	d.rtc = rtcContext{}
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if s != nil && s.kind == kindRTC && st == stateInRoom {
		d.leave(ctx, s, "destroyRtcRoomContext")
	}
	return nil, nil
}

type rtcJoinParams struct {
	RoomID     *string `json:"roomId"`
	Token      *string `json:"token"`
	UserID     *string `json:"userId"`
	RoomConfig *struct {
		AutoPublish   *bool `json:"autoPublish"`
		AutoSubscribe *bool `json:"autoSubscribe"`
	} `json:"roomConfig"`
}

func (d *Daemon) joinRtcRoom(ctx context.Context, r *control.Request) (map[string]any, error) {
	var p rtcJoinParams
	if err := decodeParams(r.Params, &p); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"roomId", p.RoomID}, {"token", p.Token}, {"userId", p.UserID}} {
		if f.v == nil || *f.v == "" {
			return nil, control.InvalidParams(f.name, "is required")
		}
	}
	autoPub, autoSub := true, true
	if p.RoomConfig != nil {
		if p.RoomConfig.AutoPublish != nil {
			autoPub = *p.RoomConfig.AutoPublish
		}
		if p.RoomConfig.AutoSubscribe != nil {
			autoSub = *p.RoomConfig.AutoSubscribe
		}
	}
	d.mu.Lock()
	rc, err := d.rtcCtx()
	var appID string
	if err == nil {
		appID = rc.appID
		if d.state == stateIdle {
			rc.userID = *p.UserID
		}
	}
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if err := d.checkScope(r.Method, r.Peer, "scope.record", d.p.Config.Scopes.Record); err != nil {
		return nil, err
	}
	// Token rooms carry video when this device has a camera system and the
	// client may use it; a camera that does not open leaves an audio member.
	roomType := "voice"
	if d.p.Cameras != nil && d.checkScope(r.Method, r.Peer, "scope.camera", d.p.Config.Scopes.Camera) == nil {
		roomType = "video"
	}
	mute := proto.MuteConfig{MuteMicrophone: !autoPub}
	_, err = d.runJoin(ctx, joinSpec{
		kind: kindRTC, id: *p.RoomID, roomType: roomType, owner: r.ClientID, mute: mute, optionalCamera: true,
		connect: func(ctx context.Context, h *roomHandler) (*room.Session, error) {
			return room.JoinRTC(ctx, d.roomConfig(), room.RTCJoinParams{
				AppID: appID, RoomID: *p.RoomID, UserID: *p.UserID, Token: *p.Token,
				AutoPublish: autoPub, AutoSubscribe: autoSub, Video: h.s.hasCamera(),
			}, h)
		},
		onJoined: func(s *session) {
			d.mu.Lock()
			d.rtc.audio, d.rtc.video = autoPub, autoPub
			d.mu.Unlock()
			if !autoPub {
				s.setVideoPaused(true)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return nil, nil
}

// rtcSession returns the token room the daemon is in, checking roomId when
// given; errors are the RTC family's.
func (d *Daemon) rtcSession(roomID string) (*session, error) {
	d.mu.Lock()
	_, err := d.rtcCtx()
	s, st := d.sess, d.state
	d.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if s == nil || s.kind != kindRTC || st != stateInRoom {
		return nil, fail(kindSystem, reasonNotInRoom, "not in a room")
	}
	if roomID != "" && roomID != s.id {
		return nil, fail(kindSystem, reasonNotInRoom, "not in room %s (in %s)", roomID, s.id)
	}
	return s, nil
}

func (d *Daemon) exitRtcRoom(ctx context.Context, r *control.Request) (map[string]any, error) {
	var p struct {
		RoomID *string `json:"roomId"`
	}
	if err := decodeParams(r.Params, &p); err != nil {
		return nil, err
	}
	if p.RoomID == nil || *p.RoomID == "" {
		return nil, control.InvalidParams("roomId", "is required")
	}
	if _, st := d.current(); st == stateJoining {
		d.mu.Lock()
		s := d.sess
		d.mu.Unlock()
		if s != nil && s.kind == kindRTC && s.id == *p.RoomID {
			s.cancelJoin(errExitWhileJoining)
			<-s.joinDone
			return nil, nil
		}
	}
	s, err := d.rtcSession(*p.RoomID)
	if err != nil {
		return nil, err
	}
	d.leave(ctx, s, "exitRtcRoom")
	return nil, nil
}

// captureState reads changeAudioCapture/changeVideoCapture's {state: 0|1}.
func captureState(r *control.Request) (bool, error) {
	var p struct {
		State *int `json:"state"`
	}
	if err := decodeParams(r.Params, &p); err != nil {
		return false, err
	}
	if p.State == nil || (*p.State != 0 && *p.State != 1) {
		return false, control.InvalidParams("state", "must be 0 (off) or 1 (on)")
	}
	return *p.State == 1, nil
}

func (d *Daemon) changeAudioCapture(ctx context.Context, r *control.Request) (map[string]any, error) {
	on, err := captureState(r)
	if err != nil {
		return nil, err
	}
	return nil, d.setCapture(on, true)
}

func (d *Daemon) changeVideoCapture(ctx context.Context, r *control.Request) (map[string]any, error) {
	on, err := captureState(r)
	if err != nil {
		return nil, err
	}
	return nil, d.setCapture(on, false)
}

// setCapture turns the microphone (audio) or the camera on or off in the
// token room: what is off is not captured into the room nor published.
func (d *Daemon) setCapture(on, audio bool) error {
	s, err := d.rtcSession("")
	if err != nil {
		return err
	}
	d.mu.Lock()
	if audio {
		d.rtc.audio = on
	} else {
		d.rtc.video = on
	}
	a, v := d.rtc.audio, d.rtc.video
	d.mu.Unlock()
	s.mu.Lock()
	rs, call := s.rs, s.call
	s.mute.MuteMicrophone = !a
	mute := s.mute
	s.mu.Unlock()
	if err := rs.SetPublishing(a, v && s.hasVideo()); err != nil {
		return err
	}
	call.SetMute(mute.MuteMicrophone, mute.MuteEarphone)
	s.setVideoPaused(!v)
	return nil
}

// changeSubscribeState is voipd's own addition to the RtcRoomContext family:
// after joinRtcRoom with roomConfig.autoSubscribe false the member receives
// nothing, and {state: 1} starts receiving every publisher (0 stops again).
func (d *Daemon) changeSubscribeState(ctx context.Context, r *control.Request) (map[string]any, error) {
	on, err := captureState(r)
	if err != nil {
		return nil, err
	}
	s, err := d.rtcSession("")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	rs := s.rs
	s.mu.Unlock()
	return nil, rs.SetSubscribing(on)
}

// switchCamera swaps the front camera (video.camera) and the back one
// (video.back) under the running call.
func (d *Daemon) switchCamera(ctx context.Context, r *control.Request) (map[string]any, error) {
	s, err := d.rtcSession("")
	if err != nil {
		return nil, err
	}
	v := d.p.Config.Video
	if v.Back == "" {
		return nil, fail(kindSystem, reasonAbsent, "no back camera configured (video.back)")
	}
	s.mu.Lock()
	video := s.video
	s.mu.Unlock()
	if video == nil {
		return nil, fail(kindSystem, reasonAbsent, "this member sends no video")
	}
	d.mu.Lock()
	back := !d.rtc.back
	d.mu.Unlock()
	id := v.Camera
	if back {
		id = v.Back
	}
	cam, err := d.p.Cameras.OpenCamera(id, hw.CameraRequest{Width: v.Width, Height: v.Height, FPS: v.FPS})
	if err != nil {
		return nil, &failure{kind: kindDevice, device: "camera", reason: reasonOf(err), detail: "camera " + id, cause: err}
	}
	if err := video.switchTo(cam, back); err != nil {
		cam.Close()
		return nil, err
	}
	d.mu.Lock()
	d.rtc.back = back
	d.mu.Unlock()
	position := "front"
	if back {
		position = "back"
	}
	return map[string]any{"devicePosition": position}, nil
}

// rtcHandler adds the token room's own events to a session's handler.
func (h *roomHandler) TokenExpiring(at time.Time) {
	h.d.publish("onRtcStateChange", map[string]any{"errNo": 0, "errMsg": "token will expire", "data": map[string]any{"expireAt": at.Unix()}})
}

func (h *roomHandler) Removed(reason string) {
	h.s.mu.Lock()
	h.s.removed = true // the socket closing next is no second interruption
	h.s.mu.Unlock()
	h.d.publish("onRtcChatInterrupted", map[string]any{"errNo": 115903, "errMsg": "onRtcChatInterrupted: " + reason, "reason": reason})
	go h.d.leave(context.Background(), h.s, "removed: "+reason)
}
