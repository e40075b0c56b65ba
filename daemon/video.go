package daemon

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// Display is the device's local screen feed (daemon/display): sources the
// local UI's <voip-room> elements watch, fed with the RTP as it is, never
// re-encoded.
type Display interface {
	Source(id string) DisplaySource
	RemoveSource(id string)
}

// DisplaySource takes one stream's RTP and asks for keyframes for its
// viewers.
type DisplaySource interface {
	media.RTPWriter
	OnKeyframeRequest(fn func())
}

// The display sources of the device's own camera: <voip-room mode="camera">
// shows "self" for device-position front (video.camera) and "self:back" for
// back (video.back), whichever of the two is sending.
const (
	selfSource     = "self"
	selfBackSource = "self:back"
)

// cameraRetry is how often a lost camera is looked for again.
const cameraRetry = time.Second

// videoState is a video room's video: the camera's sender and each
// member's receiver.
type videoState struct {
	d    *Daemon
	s    *session
	ctx  context.Context // the call's: ends when the room does
	mu   sync.Mutex
	cam  hw.Camera
	send media.VideoSender
	recv map[string]*memberVideo
	lost bool // the camera is gone; audio goes on
	out  *media.TrackWriter
	// The running sender's own context, so a camera switch stops it
	// without it reporting the camera lost.
	stopSend context.CancelFunc
	sendDone chan struct{}
	paused   bool
	back     bool // the back camera (video.back) is the one sending
}

type memberVideo struct {
	r      media.VideoReceiver
	cancel context.CancelFunc
}

// openCamera opens the configured camera for a video room (hw kinds: a
// busy camera answers -2 like a busy microphone).
func (d *Daemon) openCamera() (hw.Camera, error) {
	if d.p.Cameras == nil {
		return nil, fail(kindSystem, reasonDisabled, "this voipd has no video (no camera system configured)")
	}
	v := d.p.Config.Video
	return d.p.Cameras.OpenCamera(v.Camera, hw.CameraRequest{Width: v.Width, Height: v.Height, FPS: v.FPS})
}

// startVideo starts sending the camera; called once the room is joined.
func (v *videoState) start(cam hw.Camera) error {
	rs := v.s.rs
	if v.out == nil {
		v.out = media.NewTrackWriter(rs.VideoTrack())
	}
	if v.d.p.Display != nil {
		id := selfSource
		v.mu.Lock()
		if v.back {
			id = selfBackSource
		}
		v.mu.Unlock()
		v.d.p.Display.RemoveSource(otherSelf(id)) // the other camera stopped
		src := v.d.p.Display.Source(id)
		v.out.SetDisplay(src)
		defer src.OnKeyframeRequest(v.requestKeyframe)
	}
	snd, err := v.d.p.Media.NewVideoSender(media.VideoSenderParams{Camera: cam, Out: v.out, Feedback: rs.VideoSender()})
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(v.ctx)
	done := make(chan struct{})
	v.mu.Lock()
	v.cam, v.send, v.lost = cam, snd, false
	v.stopSend, v.sendDone = stop, done
	snd.SetPaused(v.paused)
	v.mu.Unlock()
	// The room's send-side estimate (transport-cc feedback from roomd)
	// sets the encoder's target.
	rs.OnBitrateEstimate(snd.SetBitrate)
	go func() {
		defer close(done)
		v.runSender(sctx, snd, cam)
	}()
	return nil
}

func otherSelf(id string) string {
	if id == selfSource {
		return selfBackSource
	}
	return selfSource
}

// switchTo replaces the camera under the running call (switchCamera); back
// says which of the configured cameras it is.
func (v *videoState) switchTo(cam hw.Camera, back bool) error {
	v.mu.Lock()
	stop, done := v.stopSend, v.sendDone
	v.back = back
	v.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	return v.start(cam)
}

// stopSending stops the camera's stream and closes the camera (a call
// switched to voice); receiving goes on.
func (v *videoState) stopSending() {
	v.mu.Lock()
	stop, done := v.stopSend, v.sendDone
	v.stopSend, v.sendDone, v.send = nil, nil, nil
	v.mu.Unlock()
	if stop != nil {
		stop()
		<-done // runSender closes the camera
	}
	v.mu.Lock()
	v.cam = nil
	v.mu.Unlock()
	if v.d.p.Display != nil {
		v.d.p.Display.RemoveSource(selfSource)
		v.d.p.Display.RemoveSource(selfBackSource)
	}
}

func (v *videoState) setPaused(p bool) {
	v.mu.Lock()
	v.paused = p
	snd := v.send
	v.mu.Unlock()
	if snd != nil {
		snd.SetPaused(p)
	}
}

func (v *videoState) requestKeyframe() {
	v.mu.Lock()
	snd := v.send
	v.mu.Unlock()
	if snd != nil {
		snd.RequestKeyframe()
	}
}

// runSender sends until the room ends; a lost camera is reported with
// onVoIPChatStateChanged (4), the call goes on with audio, and the camera
// is opened again until it is back (5).
func (v *videoState) runSender(ctx context.Context, snd media.VideoSender, cam hw.Camera) {
	err := snd.Run(ctx)
	cam.Close()
	if ctx.Err() != nil {
		return // the room ended, or the camera was switched
	}
	v.d.log.Warn("camera lost; the call goes on with audio", "err", err)
	v.mu.Lock()
	v.lost, v.send, v.cam = true, nil, nil
	v.mu.Unlock()
	v.d.publishState(v.s, 4, map[string]any{"device": "camera", "error": errString(err)})
	t := time.NewTicker(cameraRetry)
	defer t.Stop()
	for {
		select {
		case <-v.ctx.Done():
			return
		case <-t.C:
		}
		cam, err := v.d.openCamera()
		if err != nil {
			continue
		}
		if err := v.start(cam); err != nil {
			cam.Close()
			continue
		}
		v.d.log.Info("camera back")
		v.d.publishState(v.s, 5, map[string]any{"device": "camera"})
		return
	}
}

func errString(err error) string {
	if err == nil {
		return "stopped"
	}
	return err.Error()
}

// addMember starts decoding a member's video (and feeding the display).
func (v *videoState) addMember(member string, t *webrtc.TrackRemote) {
	p := media.VideoReceiverParams{Member: member, Src: t, WantKeyframe: func() { v.s.rs.RequestKeyframe(member) }}
	if v.d.p.Display != nil {
		ds := v.d.p.Display.Source(member)
		ds.OnKeyframeRequest(p.WantKeyframe)
		p.Display = ds
	}
	r, err := v.d.p.Media.NewVideoReceiver(p)
	if err != nil {
		v.d.log.Warn("member video", "member", member, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(v.ctx)
	v.mu.Lock()
	if old := v.recv[member]; old != nil {
		old.cancel()
	}
	v.recv[member] = &memberVideo{r: r, cancel: cancel}
	v.mu.Unlock()
	go func() {
		if err := r.Run(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
			v.d.log.Debug("member video ended", "member", member, "err", err)
		}
	}()
}

func (v *videoState) removeMember(member string) {
	v.mu.Lock()
	mv := v.recv[member]
	delete(v.recv, member)
	v.mu.Unlock()
	if mv != nil {
		mv.cancel()
	}
	if v.d.p.Display != nil {
		v.d.p.Display.RemoveSource(member)
	}
}

func (v *videoState) stats() ([]media.OutboundStats, []media.InboundStats) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []media.OutboundStats
	if v.send != nil {
		out = append(out, v.send.Stats())
	}
	var in []media.InboundStats
	for _, mv := range v.recv {
		in = append(in, mv.r.Stats())
	}
	return out, in
}

func (v *videoState) camera() hw.Camera {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.cam
}

// close stops the camera (the receivers end with the call's context).
func (v *videoState) close() {
	v.mu.Lock()
	cam := v.cam
	v.cam = nil
	v.mu.Unlock()
	if cam != nil {
		cam.Close()
	}
	if v.d.p.Display != nil {
		v.d.p.Display.RemoveSource(selfSource)
		v.d.p.Display.RemoveSource(selfBackSource)
		for m := range v.recv {
			v.d.p.Display.RemoveSource(m)
		}
	}
}
