package daemon

import (
	"context"
	"fmt"
	"net/url"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/daemon/session"
	"github.com/voipd/voipd/proto"
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
	}
	return checkRoomType(p.RoomType)
}

// checkRoomType refuses a roomType other than "voice" or "video".
func checkRoomType(rt *string) error {
	if rt != nil && *rt != "voice" && *rt != "video" {
		return control.InvalidParams("roomType", fmt.Sprintf("must be \"voice\" or \"video\", not %q", *rt))
	}
	return nil
}

// or returns *p, or def when p is nil.
func or[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

type joinResult struct {
	result
	OpenIDList []string `json:"openIdList"`
}

func (d *Daemon) joinVoIPChat(ctx context.Context, r *control.Request, p *joinParams) (*joinResult, error) {
	roomType := or(p.RoomType, "voice")
	if err := d.checkScope(famGroup, r.Peer, scopeRecord); err != nil {
		return nil, err
	}
	if roomType == "video" {
		if err := d.checkScope(famGroup, r.Peer, scopeCamera); err != nil {
			return nil, err
		}
		if d.cameras == nil {
			return nil, session.Fail(session.ErrSystem, session.ReasonDisabled, "this voipd has no video: join with roomType \"voice\"")
		}
	}
	j, err := d.engine.Join(ctx, r.ClientID, session.Group{
		GroupID: *p.GroupID, RoomType: roomType, Mute: or(p.MuteConfig, proto.MuteConfig{}),
		NonceStr: *p.NonceStr, TimeStamp: *p.TimeStamp, Signature: *p.Signature,
	})
	if err != nil {
		return nil, err
	}
	if d.p.WebURL != "" {
		// A person joins the same room from a browser with this link.
		q := url.Values{"groupId": {*p.GroupID}, "autojoin": {"1"}, "roomType": {roomType}}
		d.log.Info("browser client for this room", "url", d.p.WebURL+"/?"+q.Encode())
	}
	return &joinResult{OpenIDList: j.Members}, nil
}

func (d *Daemon) exitVoIPChat(ctx context.Context, r *control.Request, _ *noParams) (*okResult, error) {
	return nil, d.engine.Exit(ctx)
}

type muteParams struct {
	MuteConfig *proto.MuteConfig `json:"muteConfig"`
}

func (p *muteParams) check() error {
	if p.MuteConfig == nil {
		return control.InvalidParams("muteConfig", "is required")
	}
	return nil
}

func (d *Daemon) updateVoIPChatMuteConfig(ctx context.Context, r *control.Request, p *muteParams) (*okResult, error) {
	return nil, d.engine.SetMute(*p.MuteConfig)
}

type videoMembersParams struct {
	OpenIDList *[]string `json:"openIdList"`
}

func (p *videoMembersParams) check() error {
	if p.OpenIDList == nil {
		return control.InvalidParams("openIdList", "is required")
	}
	return nil
}

func (d *Daemon) subscribeVoIPVideoMembers(ctx context.Context, r *control.Request, p *videoMembersParams) (*okResult, error) {
	return nil, d.engine.SubscribeVideo(*p.OpenIDList)
}
