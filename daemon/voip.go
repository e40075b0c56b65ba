package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// joinParams are joinVoIPChat's params (seeds 000/001). Pointers tell a
// missing field from a zero one.
type joinParams struct {
	RoomType   *string           `json:"roomType"`
	Signature  *string           `json:"signature"`
	NonceStr   *string           `json:"nonceStr"`
	TimeStamp  *int64            `json:"timeStamp"`
	GroupID    *string           `json:"groupId"`
	MuteConfig *proto.MuteConfig `json:"muteConfig"`
}

func (p *joinParams) check() error {
	switch {
	case p.Signature == nil || *p.Signature == "":
		return control.InvalidParams("signature", "is required")
	case p.NonceStr == nil || *p.NonceStr == "":
		return control.InvalidParams("nonceStr", "is required")
	case p.TimeStamp == nil:
		return control.InvalidParams("timeStamp", "is required")
	case p.GroupID == nil || *p.GroupID == "":
		return control.InvalidParams("groupId", "is required")
	case p.RoomType != nil && *p.RoomType != "voice" && *p.RoomType != "video":
		return control.InvalidParams("roomType", fmt.Sprintf("must be \"voice\" or \"video\", not %q", *p.RoomType))
	}
	return nil
}

func (d *Daemon) joinVoIPChat(ctx context.Context, r *control.Request) (map[string]any, error) {
	var p joinParams
	if err := decodeParams(r.Params, &p); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	roomType := "voice"
	if p.RoomType != nil {
		roomType = *p.RoomType
	}
	if err := d.checkScope(r.Peer, "scope.record", d.p.Config.Scopes.Record); err != nil {
		return nil, err
	}
	if roomType == "video" {
		if err := d.checkScope(r.Peer, "scope.camera", d.p.Config.Scopes.Camera); err != nil {
			return nil, err
		}
		if d.p.Cameras == nil || d.p.VideoMedia == nil {
			return nil, fail(kindSystem, reasonDisabled, "this voipd has no video: join with roomType \"voice\"")
		}
	}
	var mute proto.MuteConfig
	if p.MuteConfig != nil {
		mute = *p.MuteConfig
	}

	// The join outlives neither the daemon nor an exit: its context is the
	// daemon's, cancelled with a cause that decides the -3 answer.
	s, jctx, err := d.beginJoin(context.WithoutCancel(ctx), *p.GroupID, roomType, mute)
	if err != nil {
		return nil, err
	}
	defer close(s.joinDone)
	members, err := d.join(jctx, s, &p)
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
	return map[string]any{"openIdList": members}, nil
}

// join opens the devices, joins the room and starts the call.
func (d *Daemon) join(ctx context.Context, s *session, p *joinParams) ([]string, error) {
	cfg := d.p.Config
	capture, err := d.p.Audio.OpenCapture(cfg.Audio.Capture)
	if err != nil {
		return nil, err // hw kinds: busy → -2, absent, permission
	}
	playback, err := d.p.Audio.OpenPlayback(cfg.Audio.Playback)
	if err != nil {
		capture.Close()
		if f := deviceFailure("speaker", err); f != nil {
			return nil, f
		}
		return nil, err
	}
	s.mu.Lock()
	s.capture, s.playback = capture, playback
	s.mu.Unlock()
	if s.roomType == "video" {
		// A busy camera answers -2 in a video room, like a busy microphone.
		cam, err := d.openCamera()
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.camera = cam
		s.mu.Unlock()
	}

	h := &roomHandler{d: d, s: s}
	rs, err := room.Join(ctx, room.Config{
		URL:         d.p.RoomURL,
		TLS:         d.p.RoomTLS,
		ICEServers:  d.p.ICE,
		JoinTimeout: cfg.Room.JoinTimeout.D(),
		Logger:      d.log,
	}, room.JoinParams{
		AppID: cfg.Identity.AppID, OpenID: cfg.Identity.OpenID, GroupID: *p.GroupID,
		NonceStr: *p.NonceStr, TimeStamp: *p.TimeStamp, Signature: *p.Signature,
		RoomType: s.roomType, Mute: s.mute,
	}, h)
	if err != nil {
		return nil, err
	}
	call, err := d.p.Media.NewCall(capture, playback, rs.AudioTrack(), rs.AudioLevelExtID())
	if err != nil {
		rs.Leave(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("audio pipeline: %w", err)
	}
	call.SetMute(s.mute)
	if err := d.finishJoin(ctx, s); err != nil {
		rs.Leave(context.WithoutCancel(ctx))
		return nil, err
	}
	callCtx, stop := context.WithCancel(context.Background())
	s.mu.Lock()
	s.rs, s.call, s.stopCall, s.callDone = rs, call, stop, make(chan struct{})
	var video *videoState
	if s.roomType == "video" {
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
			call.AddMember(t.member, t.audio, rs.AudioLevelExtID())
		case t.video != nil && video != nil:
			video.addMember(t.member, t.video)
		}
	}
	if video != nil {
		if err := video.start(cam); err != nil {
			cam.Close()
			d.log.Error("video", "err", err)
			d.publish("onVoIPChatStateChanged", map[string]any{"code": 4, "data": map[string]any{"device": "camera", "error": err.Error()}})
		}
	}
	s.mu.Lock()
	s.members = rs.Members()
	members := slices.Clone(s.members)
	s.mu.Unlock()
	go d.runCall(callCtx, s, call)
	go d.watchSpeakers(callCtx, s)
	d.log.Info("joined room", "group", s.groupID, "members", len(members))
	return members, nil
}

// runCall runs the media until the room ends; a device failure interrupts
// the room (the kiosk's UI learns it from onVoIPChatInterrupted).
func (d *Daemon) runCall(ctx context.Context, s *session, call Call) {
	err := call.Run(ctx)
	close(s.callDone)
	if err != nil && ctx.Err() == nil {
		d.log.Error("audio device failed", "err", err)
		d.publish("onVoIPChatStateChanged", map[string]any{"code": 4, "data": map[string]any{"device": "audio", "error": err.Error()}})
		go d.interrupt(s, "device lost: "+err.Error())
	}
}

// interrupt ends a room the daemon lost without being asked.
func (d *Daemon) interrupt(s *session, why string) {
	d.publish("onVoIPChatInterrupted", map[string]any{"errCode": -1000, "errMsg": "onVoIPChatInterrupted: " + why})
	d.leave(context.Background(), s, why)
}

func (d *Daemon) exitVoIPChat(ctx context.Context, r *control.Request) (map[string]any, error) {
	s, st := d.current()
	switch st {
	case stateJoining:
		s.cancelJoin(errExitWhileJoining)
		<-s.joinDone // the join answers -3 before exit answers ok
		return nil, nil
	case stateInRoom:
		d.leave(ctx, s, "exitVoIPChat")
		return nil, nil
	}
	return nil, fail(kindSystem, reasonNotInRoom, "not in a room")
}

func (d *Daemon) updateMute(ctx context.Context, r *control.Request) (map[string]any, error) {
	var p struct {
		MuteConfig *proto.MuteConfig `json:"muteConfig"`
	}
	if err := decodeParams(r.Params, &p); err != nil {
		return nil, err
	}
	if p.MuteConfig == nil {
		return nil, control.InvalidParams("muteConfig", "is required")
	}
	s, st := d.current()
	if st != stateInRoom {
		return nil, fail(kindSystem, reasonNotInRoom, "not in a room")
	}
	s.mu.Lock()
	s.mute = *p.MuteConfig
	call, rs := s.call, s.rs
	s.mu.Unlock()
	call.SetMute(*p.MuteConfig)
	if err := rs.SetMute(*p.MuteConfig); err != nil {
		d.log.Warn("tell room of mute", "err", err)
	}
	return nil, nil
}

func (d *Daemon) subscribeVideoMembers(ctx context.Context, r *control.Request) (map[string]any, error) {
	var p struct {
		OpenIDList *[]string `json:"openIdList"`
	}
	if err := decodeParams(r.Params, &p); err != nil {
		return nil, err
	}
	if p.OpenIDList == nil {
		return nil, control.InvalidParams("openIdList", "is required")
	}
	s, st := d.current()
	if st != stateInRoom {
		return nil, fail(kindSystem, reasonNotInRoom, "not in a room")
	}
	if s.roomType != "video" {
		return nil, fail(kindSystem, reasonParams, "room %s is a voice room: join with roomType \"video\" to receive video", s.groupID)
	}
	s.mu.Lock()
	rs := s.rs
	s.mu.Unlock()
	if err := rs.SubscribeVideo(*p.OpenIDList); err != nil {
		return nil, fmt.Errorf("subscribe video: %w", err)
	}
	return nil, nil
}

// roomHandler receives the room's events for one session.
type roomHandler struct {
	d *Daemon
	s *session
}

func (h *roomHandler) MembersChanged(members []string) {
	h.s.mu.Lock()
	h.s.members = slices.Clone(members)
	h.s.mu.Unlock()
	h.d.publish("onVoIPChatMembersChanged", map[string]any{"openIdList": members, "errCode": 0, "errMsg": "onVoIPChatMembersChanged:ok"})
}

func (h *roomHandler) AudioTrack(member string, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	// Tracks can arrive while room.Join is still returning: keep them
	// until the call exists (join adds them with the negotiated ext id).
	h.s.mu.Lock()
	call, rs := h.s.call, h.s.rs
	if call == nil {
		h.s.pending = append(h.s.pending, pendingTrack{member: member, audio: t})
	}
	h.s.mu.Unlock()
	if call != nil {
		call.AddMember(member, t, rs.AudioLevelExtID())
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
	h.d.publish("onVoIPVideoMembersChanged", map[string]any{"openIdList": members, "errCode": 0, "errMsg": "onVoIPVideoMembersChanged:ok"})
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
	leaving := h.s.leaving
	h.s.mu.Unlock()
	if leaving {
		return
	}
	h.d.log.Warn("room interrupted", "err", err)
	go h.d.interrupt(h.s, err.Error())
}
