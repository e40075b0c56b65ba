package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// The kinds of room the daemon is in at most one of (status' room.kind).
const (
	kindVoIP = "voip"
	kind1v1  = "1v1"
	kindRTC  = "rtc"
)

// joinSpec is what differs between a group room, a call and a token room;
// the devices, the media and the state machine are shared.
type joinSpec struct {
	kind, id, roomType string
	mute               proto.MuteConfig
	owner              uint64 // the control client that asked
	optionalCamera     bool   // a camera that does not open leaves an audio member (RTC)
	noSwitchVoice      bool   // 1v1: disableSwitchVoice
	connect            func(ctx context.Context, h *roomHandler) (*room.Session, error)
	onJoined           func(s *session) // after the media started, before the answer
}

// roomConfig is the room client's configuration from the daemon's.
func (d *Daemon) roomConfig() room.Config {
	// video.bitrate is the most the camera sends: the send-side estimate
	// lowers it under loss or congestion but never raises it above (left
	// alone, the estimate climbs toward 4 Mbit/s on a LAN, costing the
	// encoder CPU and the network bandwidth a kiosk does not need).
	vb := d.p.Config.Video.Bitrate
	return room.Config{
		URL: d.p.RoomURL, TLS: d.p.RoomTLS, ICEServers: d.p.ICE,
		JoinTimeout: d.p.Config.Room.JoinTimeout.D(), Logger: d.log,
		VideoBitrate: vb, MaxVideoBitrate: vb, MinVideoBitrate: min(50000, vb),
	}
}

// runJoin runs a join from idle to inRoom, or back to idle with the error.
// An exit or SIGTERM while it runs cancels it with a cause that becomes -3.
func (d *Daemon) runJoin(ctx context.Context, spec joinSpec) ([]string, error) {
	// The join outlives its request's context: only an exit or shutdown
	// (the cancel cause) stops it.
	s, jctx, err := d.beginJoin(context.WithoutCancel(ctx), spec)
	if err != nil {
		return nil, err
	}
	defer close(s.joinDone)
	members, err := d.join(jctx, s, spec)
	if err != nil {
		d.abortJoin(s)
		if cause := context.Cause(jctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
		if errors.Is(err, errExitWhileJoining) || errors.Is(err, errShutdown) {
			return nil, &failure{kind: kindExited, reason: "interrupted", detail: "join interrupted", cause: context.Cause(jctx)}
		}
		return nil, err
	}
	return members, nil
}

// join opens the devices, connects to the room and starts the media.
func (d *Daemon) join(ctx context.Context, s *session, spec joinSpec) ([]string, error) {
	cfg := d.p.Config
	capture, err := d.p.Audio.OpenCapture(cfg.Audio.Capture)
	if err != nil {
		return nil, &failure{kind: kindDevice, device: "microphone", reason: reasonOf(err), detail: "microphone " + cfg.Audio.Capture, cause: err}
	}
	playback, err := d.p.Audio.OpenPlayback(cfg.Audio.Playback)
	if err != nil {
		capture.Close()
		return nil, &failure{kind: kindDevice, device: "speaker", reason: reasonOf(err), detail: "speaker " + cfg.Audio.Playback, cause: err}
	}
	s.mu.Lock()
	s.capture, s.playback = capture, playback
	s.mu.Unlock()
	if s.roomType == "video" {
		cam, err := d.openCamera()
		switch {
		case err != nil && spec.optionalCamera:
			d.log.Warn("no camera: joining with audio only", "err", err)
			s.mu.Lock()
			s.roomType = "voice"
			s.mu.Unlock()
		case err != nil:
			return nil, &failure{kind: kindDevice, device: "camera", reason: reasonOf(err), detail: "camera " + cfg.Video.Camera, cause: err}
		default:
			s.mu.Lock()
			s.camera = cam
			s.mu.Unlock()
		}
	}

	rs, err := spec.connect(ctx, &roomHandler{d: d, s: s})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	capture, playback = s.capture, s.playback
	s.mu.Unlock()
	call, err := d.p.Media.NewCall(media.CallParams{Capture: capture, Playback: playback, Out: rs.AudioTrack(), LevelExtID: rs.AudioLevelExtID(), Volume: d.volume})
	if err != nil {
		rs.Leave(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("audio pipeline: %w", err)
	}
	call.SetMute(s.mute.MuteMicrophone, s.mute.MuteEarphone)
	if err := d.finishJoin(ctx, s); err != nil {
		rs.Leave(context.WithoutCancel(ctx))
		return nil, err
	}
	callCtx, stop := context.WithCancel(context.Background())
	s.mu.Lock()
	s.rs, s.call, s.stopCall, s.callDone = rs, call, stop, make(chan struct{})
	var video *videoState
	if s.roomType == "video" || rs.VideoTrack() != nil {
		video = &videoState{d: d, s: s, ctx: callCtx, recv: map[string]*memberVideo{}}
		s.video = video
	}
	cam := s.camera
	s.camera = nil
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, t := range pending {
		switch {
		case t.audio != nil:
			call.AddMember(t.member, t.audio)
		case t.video != nil && video != nil:
			video.addMember(t.member, t.video)
		}
	}
	if video != nil && cam != nil {
		if rs.VideoTrack() == nil {
			cam.Close() // the room takes no video from this member
		} else if err := video.start(cam); err != nil {
			cam.Close()
			d.log.Error("video", "err", err)
			d.publishState(s, 4, map[string]any{"device": "camera", "error": err.Error()})
		}
	}
	if spec.onJoined != nil {
		spec.onJoined(s)
	}
	s.mu.Lock()
	s.members = rs.Members()
	members := slices.Clone(s.members)
	s.mu.Unlock()
	go d.runCall(callCtx, s, call)
	go d.watchSpeakers(callCtx, s)
	d.log.Info("joined room", "kind", s.kind, "room", s.id, "members", len(members))
	return members, nil
}

// runCall runs the media until the room ends; a lost microphone or speaker
// interrupts the room (the kiosk's UI learns it from the interrupted event).
func (d *Daemon) runCall(ctx context.Context, s *session, call media.Call) {
	err := call.Run(ctx)
	close(s.callDone)
	if err != nil && ctx.Err() == nil {
		d.log.Error("audio device failed", "err", err)
		d.publishState(s, 4, map[string]any{"device": "audio", "error": err.Error()})
		go d.interrupt(s, "network", "device lost: "+err.Error())
	}
}

// interrupt ends a room the daemon lost without being asked.
func (d *Daemon) interrupt(s *session, why1v1, why string) {
	d.publishInterrupted(s, why1v1, why)
	d.leave(context.Background(), s, why)
}

// roomHandler receives the room's events for one session.
type roomHandler struct {
	d *Daemon
	s *session
}

func (h *roomHandler) MembersChanged(members []string) {
	h.s.mu.Lock()
	had := len(h.s.members)
	h.s.members = slices.Clone(members)
	h.s.mu.Unlock()
	h.d.publishMembers(h.s, members)
	// A call ends when the other side leaves.
	if h.s.kind == kind1v1 && had >= 2 && len(members) < 2 {
		go h.d.endCall(h.s, "remote")
	}
}

func (h *roomHandler) AudioTrack(member string, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	// Tracks can arrive while the connect is still returning: keep them
	// until the call exists (join adds them with the negotiated ext id).
	h.s.mu.Lock()
	call := h.s.call
	if call == nil {
		h.s.pending = append(h.s.pending, pendingTrack{member: member, audio: t})
	}
	h.s.mu.Unlock()
	if call != nil {
		call.AddMember(member, t)
	}
}

// VideoTrack implements room.VideoHandler: a member's video arrived.
func (h *roomHandler) VideoTrack(member string, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	h.s.mu.Lock()
	v := h.s.video
	if v == nil {
		h.s.pending = append(h.s.pending, pendingTrack{member: member, video: t})
	}
	h.s.mu.Unlock()
	if v != nil {
		v.addMember(member, t)
	}
}

func (h *roomHandler) VideoTrackEnded(member string) {
	h.s.mu.Lock()
	v := h.s.video
	h.s.mu.Unlock()
	if v != nil {
		v.removeMember(member)
	}
}

func (h *roomHandler) VideoMembersChanged(members []string) {
	h.d.publishVideoMembers(h.s, members)
}

func (h *roomHandler) TrackEnded(member string) {
	h.s.mu.Lock()
	call := h.s.call
	h.s.mu.Unlock()
	if call != nil {
		call.RemoveMember(member)
	}
}

func (h *roomHandler) Interrupted(err error) {
	h.s.mu.Lock()
	leaving := h.s.leaving || h.s.removed
	h.s.mu.Unlock()
	if leaving {
		return
	}
	h.d.log.Warn("room interrupted", "err", err)
	go h.d.interrupt(h.s, "network", err.Error())
}
