package session

import (
	"context"
	"errors"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// The display sources of the device's own camera: <voip-room mode="camera">
// shows "self" for device-position front (video.camera) and "self:back" for
// back (video.back), whichever of the two is sending.
const (
	selfSource     = "self"
	selfBackSource = "self:back"
)

// cameraRetry is how often a lost camera is looked for again.
const cameraRetry = time.Second

// camState is where the camera's stream stands.
type camState int

const (
	camOff     camState = iota // not sending: a voice call, or no camera
	camSending                 // a sender runs
	camLost                    // the camera failed; it is looked for again, audio goes on
)

// video is a room's video: the camera's sender and each member's
// receiver. Its fields are guarded by Engine.mu; ctx is the call's (it
// ends when the room does).
type video struct {
	ctx      context.Context
	out      *media.TrackWriter // the room's track, across senders
	cam      hw.Camera
	state    camState
	back     bool // the back camera (video.back) is the one sending
	send     media.VideoSender
	stopSend context.CancelFunc
	sendDone chan struct{}
	recv     map[string]*memberVideo
}

type memberVideo struct {
	r      media.VideoReceiver
	cancel context.CancelFunc
}

func newVideo(ctx context.Context) *video {
	return &video{ctx: ctx, recv: map[string]*memberVideo{}}
}

// openCamera opens a camera (hw kinds: a busy camera answers -2 like a
// busy microphone).
func (e *Engine) openCamera(id string) (hw.Camera, error) {
	if e.p.Cameras == nil {
		return nil, Fail(ErrSystem, ReasonDisabled, "this voipd has no video (no camera system configured)")
	}
	v := e.cfg.Video
	cam, err := e.p.Cameras.OpenCamera(id, hw.CameraRequest{Width: v.Width, Height: v.Height, FPS: v.FPS})
	if err != nil {
		return nil, deviceFailure("camera", id, err)
	}
	return cam, nil
}

// HasCamera says whether the configured camera can exist here: a
// synthetic pattern always does, a real one when any camera is listed.
func (e *Engine) HasCamera() bool {
	if e.p.Cameras == nil {
		return false
	}
	if _, ok := hw.ParsePattern(e.cfg.Video.Camera); ok {
		return true
	}
	list, err := e.p.Cameras.Cameras()
	return err == nil && len(list) > 0
}

// startCamera starts sending the camera opened for the join, if the room
// takes this member's video.
func (e *Engine) startCamera(s *session, cam hw.Camera) {
	e.mu.Lock()
	v, r := s.video, s.room
	e.mu.Unlock()
	if v == nil || r.VideoOut() == nil {
		cam.Close() // the room takes no video from this member
		return
	}
	if err := e.startSender(s, cam); err != nil {
		cam.Close()
		e.log.Error("video", "err", err)
		e.p.Events.Emit(DeviceLost{Room: s.kind, Device: "camera", Err: err.Error()})
	}
}

// startSender starts sending cam into the room's video track (and the
// local display), paused while the session's video is off.
func (e *Engine) startSender(s *session, cam hw.Camera) error {
	e.mu.Lock()
	v, r := s.video, s.room
	if v.out == nil {
		v.out = media.NewTrackWriter(r.VideoOut())
	}
	back, paused := v.back, !s.videoOn
	e.mu.Unlock()
	var src DisplaySource
	if e.p.Display != nil {
		id, other := selfSource, selfBackSource
		if back {
			id, other = other, id
		}
		e.p.Display.RemoveSource(other) // the other camera stopped
		src = e.p.Display.Source(id)
		v.out.SetDisplay(src)
	}
	snd, err := e.p.Media.NewVideoSender(media.VideoSenderParams{Camera: cam, Out: v.out, Feedback: r.VideoFeedback()})
	if err != nil {
		return err
	}
	snd.SetPaused(paused)
	sctx, stop := context.WithCancel(v.ctx)
	done := make(chan struct{})
	e.mu.Lock()
	v.cam, v.send, v.state = cam, snd, camSending
	v.stopSend, v.sendDone = stop, done
	e.mu.Unlock()
	// The room's send-side estimate (transport-cc feedback) sets the
	// encoder's target.
	r.OnBitrateEstimate(snd.SetBitrate)
	if src != nil {
		src.OnKeyframeRequest(snd.RequestKeyframe)
	}
	go func() {
		defer close(done)
		e.runSender(sctx, s, snd, cam)
	}()
	return nil
}

// runSender sends until the room ends; a lost camera is reported
// (DeviceLost), the call goes on with audio, and the camera is opened
// again every cameraRetry until it is back (DeviceBack).
func (e *Engine) runSender(ctx context.Context, s *session, snd media.VideoSender, cam hw.Camera) {
	err := snd.Run(ctx)
	cam.Close()
	if ctx.Err() != nil {
		return // the room ended, or the camera was switched
	}
	e.log.Warn("camera lost; the call goes on with audio", "err", err)
	e.mu.Lock()
	v := s.video
	v.state, v.send, v.cam = camLost, nil, nil
	id := e.cfg.Video.Camera
	if v.back {
		id = e.cfg.Video.Back
	}
	e.mu.Unlock()
	msg := "stopped"
	if err != nil {
		msg = err.Error()
	}
	e.p.Events.Emit(DeviceLost{Room: s.kind, Device: "camera", Err: msg})
	t := time.NewTicker(cameraRetry)
	defer t.Stop()
	for {
		select {
		case <-v.ctx.Done():
			return
		case <-t.C:
		}
		cam, err := e.openCamera(id)
		if err != nil {
			continue
		}
		if err := e.startSender(s, cam); err != nil {
			cam.Close()
			continue
		}
		e.log.Info("camera back")
		e.p.Events.Emit(DeviceBack{Room: s.kind, Device: "camera"})
		return
	}
}

// stopSender stops the camera's stream and waits until its camera closed.
func (e *Engine) stopSender(v *video) {
	e.mu.Lock()
	stop, done := v.stopSend, v.sendDone
	v.stopSend, v.sendDone, v.send, v.cam, v.state = nil, nil, nil, nil, camOff
	e.mu.Unlock()
	if stop != nil {
		stop()
		<-done // runSender closes the camera
	}
}

// addVideoMember starts receiving a member's video (and feeding the
// display).
func (e *Engine) addVideoMember(s *session, member string, t media.RTPReader) {
	e.mu.Lock()
	v, r := s.video, s.room
	e.mu.Unlock()
	if v == nil {
		return
	}
	p := media.VideoReceiverParams{Member: member, Src: t, WantKeyframe: func() { r.RequestKeyframe(member) }}
	if e.p.Display != nil {
		ds := e.p.Display.Source(member)
		ds.OnKeyframeRequest(p.WantKeyframe)
		p.Display = ds
	}
	rcv, err := e.p.Media.NewVideoReceiver(p)
	if err != nil {
		e.log.Warn("member video", "member", member, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(v.ctx)
	e.mu.Lock()
	if old := v.recv[member]; old != nil {
		old.cancel()
	}
	v.recv[member] = &memberVideo{r: rcv, cancel: cancel}
	e.mu.Unlock()
	go func() {
		if err := rcv.Run(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			e.log.Debug("member video ended", "member", member, "err", err)
		}
	}()
}

func (e *Engine) removeVideoMember(s *session, member string) {
	e.mu.Lock()
	v := s.video
	var mv *memberVideo
	if v != nil {
		mv = v.recv[member]
		delete(v.recv, member)
	}
	e.mu.Unlock()
	if mv != nil {
		mv.cancel()
	}
	if v != nil && e.p.Display != nil {
		e.p.Display.RemoveSource(member)
	}
}

// closeVideo waits until the camera's sender stopped (the call's context
// ended: its runSender closes the camera) and takes the room's sources off
// the display.
func (e *Engine) closeVideo(v *video) {
	e.mu.Lock()
	done := v.sendDone
	members := make([]string, 0, len(v.recv))
	for m := range v.recv {
		members = append(members, m)
	}
	e.mu.Unlock()
	if done != nil {
		<-done
	}
	if d := e.p.Display; d != nil {
		d.RemoveSource(selfSource)
		d.RemoveSource(selfBackSource)
		for _, m := range members {
			d.RemoveSource(m)
		}
	}
}
