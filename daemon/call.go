package daemon

import (
	"context"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/daemon/session"
	"github.com/voipd/voipd/proto"
)

// party is the seed's caller/listener object, checked field by field.
type party struct {
	Nickname  *string `json:"nickname"`
	HeadImage string  `json:"headImage"`
	OpenID    *string `json:"openid"`
}

func (p *party) check(field string) error {
	switch {
	case p == nil:
		return control.InvalidParams(field, "is required")
	case p.Nickname == nil || *p.Nickname == "":
		return control.InvalidParams(field+".nickname", "is required")
	case p.OpenID == nil || *p.OpenID == "":
		return control.InvalidParams(field+".openid", "is required")
	}
	return nil
}

func (p *party) party() proto.Party {
	return proto.Party{Nickname: *p.Nickname, HeadImage: p.HeadImage, OpenID: *p.OpenID}
}

// callParams are join1v1Chat's params (seed 002). backgroundType and
// minWindowType are WeChat's window settings: accepted, unused.
type callParams struct {
	Caller             *party  `json:"caller"`
	Listener           *party  `json:"listener"`
	RoomType           *string `json:"roomType"`
	BackgroundType     any     `json:"backgroundType"`
	MinWindowType      any     `json:"minWindowType"`
	DisableSwitchVoice bool    `json:"disableSwitchVoice"`
}

func (p *callParams) check() error {
	if err := p.Caller.check("caller"); err != nil {
		return err
	}
	if err := p.Listener.check("listener"); err != nil {
		return err
	}
	if p.RoomType != nil && *p.RoomType != "voice" && *p.RoomType != "video" {
		return control.InvalidParams("roomType", "must be \"voice\" or \"video\"")
	}
	return nil
}

type callResult struct {
	result
	CallID string `json:"callId"`
}

func (d *Daemon) join1v1Chat(ctx context.Context, r *control.Request, p *callParams) (*callResult, error) {
	roomType := or(p.RoomType, "video") // WeChat's default for calls
	self := d.cfg.Identity.OpenID
	if *p.Caller.OpenID != self {
		return nil, control.InvalidParams("caller.openid", "must be this device's openid "+self)
	}
	if *p.Listener.OpenID == self {
		return nil, control.InvalidParams("listener.openid", "cannot call this device itself")
	}
	if err := d.callAllowed(r, roomType); err != nil {
		return nil, err
	}
	j, err := d.engine.Join(ctx, r.ClientID, session.Call{
		Caller: p.Caller.party(), Listener: p.Listener.party(), RoomType: roomType, NoSwitchVoice: p.DisableSwitchVoice,
	})
	if err != nil {
		return nil, err
	}
	return &callResult{CallID: j.CallID}, nil
}

// callAllowed runs the checks every call makes before any device opens.
func (d *Daemon) callAllowed(r *control.Request, roomType string) error {
	if !d.cfg.Call.Allowed {
		return callsOff()
	}
	if err := d.checkScope(fam1v1, r.Peer, scopeRecord); err != nil {
		return err
	}
	if roomType == "video" {
		if err := d.checkScope(fam1v1, r.Peer, scopeCamera); err != nil {
			return err
		}
		if !d.engine.HasCamera() {
			return session.Fail(session.ErrNoDevice, session.ReasonAbsent, "a video call needs a camera and this device has none")
		}
	}
	return nil
}

func callsOff() error {
	return session.Fail(session.ErrCallOff, session.ReasonDisabled, "two-party calls are switched off (call.allowed)")
}

type enableParams struct {
	Enable *bool `json:"enable"`
}

func (p *enableParams) check() error {
	if p.Enable == nil {
		return control.InvalidParams("enable", "is required")
	}
	return nil
}

func (d *Daemon) setEnable1v1Chat(ctx context.Context, r *control.Request, p *enableParams) (*okResult, error) {
	switch {
	case !d.cfg.Call.Allowed:
		return nil, callsOff()
	case !*p.Enable:
		d.engine.DisableCalls()
		return nil, nil
	}
	return nil, d.engine.EnableCalls(ctx)
}

type answerParams struct {
	CallID *string `json:"callId"`
	Accept *bool   `json:"accept"`
}

func (p *answerParams) check() error {
	switch {
	case p.CallID == nil || *p.CallID == "":
		return control.InvalidParams("callId", "is required")
	case p.Accept == nil:
		return control.InvalidParams("accept", "is required")
	}
	return nil
}

func (d *Daemon) answer1v1Chat(ctx context.Context, r *control.Request, p *answerParams) (*callResult, error) {
	inv, ok := d.engine.Ringing(*p.CallID)
	if !ok {
		return nil, session.Fail(session.ErrSystem, session.ReasonParams, "no call %s is ringing here", *p.CallID)
	}
	if *p.Accept {
		if err := d.callAllowed(r, inv.RoomType); err != nil {
			return nil, err
		}
	}
	if _, err := d.engine.Answer(ctx, r.ClientID, *p.CallID, *p.Accept); err != nil {
		return nil, err
	}
	return &callResult{CallID: *p.CallID}, nil
}

type switchParams struct {
	RoomType *string `json:"roomType"`
}

func (p *switchParams) check() error {
	if p.RoomType == nil || (*p.RoomType != "voice" && *p.RoomType != "video") {
		return control.InvalidParams("roomType", "must be \"voice\" or \"video\"")
	}
	return nil
}

type switchResult struct {
	result
	RoomType string `json:"roomType"`
}

// switch1v1Chat is voipd's own addition: a call switches between voice and
// video, as WeChat's call window does, unless the caller set
// disableSwitchVoice (then a video call stays video).
func (d *Daemon) switch1v1Chat(ctx context.Context, r *control.Request, p *switchParams) (*switchResult, error) {
	rt, err := d.engine.SwitchCall(*p.RoomType, func() error { return d.checkScope(fam1v1, r.Peer, scopeCamera) })
	if err != nil {
		return nil, err
	}
	return &switchResult{RoomType: rt}, nil
}
