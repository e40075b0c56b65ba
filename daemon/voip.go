package daemon

import (
	"context"
	"fmt"

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
	if err := d.checkScope(r.Method, r.Peer, "scope.record", d.p.Config.Scopes.Record); err != nil {
		return nil, err
	}
	if roomType == "video" {
		if err := d.checkScope(r.Method, r.Peer, "scope.camera", d.p.Config.Scopes.Camera); err != nil {
			return nil, err
		}
		if d.p.Cameras == nil {
			return nil, fail(kindSystem, reasonDisabled, "this voipd has no video: join with roomType \"voice\"")
		}
	}
	var mute proto.MuteConfig
	if p.MuteConfig != nil {
		mute = *p.MuteConfig
	}
	cfg := d.p.Config
	members, err := d.runJoin(ctx, joinSpec{
		kind: kindVoIP, id: *p.GroupID, roomType: roomType, mute: mute, owner: r.ClientID,
		connect: func(ctx context.Context, h *roomHandler) (*room.Session, error) {
			return room.Join(ctx, d.roomConfig(), room.JoinParams{
				AppID: cfg.Identity.AppID, OpenID: cfg.Identity.OpenID, GroupID: *p.GroupID,
				NonceStr: *p.NonceStr, TimeStamp: *p.TimeStamp, Signature: *p.Signature,
				RoomType: roomType, Mute: mute,
			}, h)
		},
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"openIdList": members}, nil
}

func (d *Daemon) exitVoIPChat(ctx context.Context, r *control.Request) (map[string]any, error) {
	s, st := d.current()
	switch st {
	case stateJoining:
		s.cancelJoin(errExitWhileJoining)
		<-s.joinDone // the join answers -3 before exit answers ok
		return nil, nil
	case stateInRoom:
		if s.kind == kind1v1 {
			d.publishCallEnded(s, "local")
		}
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
	call.SetMute(p.MuteConfig.MuteMicrophone, p.MuteConfig.MuteEarphone)
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
		return nil, fail(kindSystem, reasonParams, "room %s is a voice room: join with roomType \"video\" to receive video", s.id)
	}
	s.mu.Lock()
	rs := s.rs
	s.mu.Unlock()
	if err := rs.SubscribeVideo(*p.OpenIDList); err != nil {
		return nil, fmt.Errorf("subscribe video: %w", err)
	}
	return nil, nil
}
