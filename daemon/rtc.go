package daemon

import (
	"context"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/daemon/session"
)

// rtcContext is Douyin's RtcRoomContext object: created with an app id,
// destroyed for good (later calls answer 115910 until a new one is
// created). It is the control surface's object; the token room itself is
// the engine's session. Guarded by Daemon.mu.
type rtcContext struct {
	created bool
	appID   string
}

// rtcCtx returns the context's app id, or 115910 when there is none.
func (d *Daemon) rtcCtx() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.rtc.created {
		return "", session.Fail(session.ErrDestroyed, session.ReasonDisabled, "engine has been destroyed, please invoke createRtcRoomContext create new engine")
	}
	return d.rtc.appID, nil
}

type createParams struct {
	AppID *string `json:"appId"`
}

func (p *createParams) check() error {
	if p.AppID == nil || *p.AppID == "" {
		return control.InvalidParams("appId", "is required")
	}
	return nil
}

func (d *Daemon) createRtcRoomContext(ctx context.Context, r *control.Request, p *createParams) (*okResult, error) {
	d.mu.Lock()
	d.rtc = rtcContext{created: true, appID: *p.AppID}
	d.mu.Unlock()
	return nil, nil
}

func (d *Daemon) destroyRtcRoomContext(ctx context.Context, r *control.Request, _ *noParams) (*okResult, error) {
	if _, err := d.rtcCtx(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.rtc = rtcContext{}
	d.mu.Unlock()
	d.engine.LeaveRTC(ctx)
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

func (p *rtcJoinParams) check() error {
	for _, f := range []struct {
		name string
		v    *string
	}{{"roomId", p.RoomID}, {"token", p.Token}, {"userId", p.UserID}} {
		if f.v == nil || *f.v == "" {
			return control.InvalidParams(f.name, "is required")
		}
	}
	return nil
}

func (d *Daemon) joinRtcRoom(ctx context.Context, r *control.Request, p *rtcJoinParams) (*okResult, error) {
	autoPub, autoSub := true, true
	if c := p.RoomConfig; c != nil {
		autoPub, autoSub = or(c.AutoPublish, true), or(c.AutoSubscribe, true)
	}
	appID, err := d.rtcCtx()
	if err != nil {
		return nil, err
	}
	if err := d.checkScope(famRTC, r.Peer, scopeRecord); err != nil {
		return nil, err
	}
	// Token rooms carry video when this device has a camera system and the
	// client may use it; a camera that does not open leaves an audio member.
	video := d.cameras != nil && d.checkScope(famRTC, r.Peer, scopeCamera) == nil
	_, err = d.engine.Join(ctx, r.ClientID, session.RTC{
		AppID: appID, RoomID: *p.RoomID, UserID: *p.UserID, Token: *p.Token,
		AutoPublish: autoPub, AutoSubscribe: autoSub, Video: video,
	})
	return nil, err
}

type roomIDParams struct {
	RoomID *string `json:"roomId"`
}

func (p *roomIDParams) check() error {
	if p.RoomID == nil || *p.RoomID == "" {
		return control.InvalidParams("roomId", "is required")
	}
	return nil
}

func (d *Daemon) exitRtcRoom(ctx context.Context, r *control.Request, p *roomIDParams) (*okResult, error) {
	if _, err := d.rtcCtx(); err != nil {
		return nil, err
	}
	return nil, d.engine.ExitRTC(ctx, *p.RoomID)
}

// stateParams are changeAudioCapture's, changeVideoCapture's and
// changeSubscribeState's {state: 0|1}.
type stateParams struct {
	State *int `json:"state"`
}

func (p *stateParams) check() error {
	if p.State == nil || (*p.State != 0 && *p.State != 1) {
		return control.InvalidParams("state", "must be 0 (off) or 1 (on)")
	}
	return nil
}

func (p *stateParams) on() bool { return *p.State == 1 }

func (d *Daemon) changeAudioCapture(ctx context.Context, r *control.Request, p *stateParams) (*okResult, error) {
	if _, err := d.rtcCtx(); err != nil {
		return nil, err
	}
	return nil, d.engine.SetCapture(true, p.on())
}

func (d *Daemon) changeVideoCapture(ctx context.Context, r *control.Request, p *stateParams) (*okResult, error) {
	if _, err := d.rtcCtx(); err != nil {
		return nil, err
	}
	return nil, d.engine.SetCapture(false, p.on())
}

// changeSubscribeState is voipd's own addition to the RtcRoomContext family:
// after joinRtcRoom with roomConfig.autoSubscribe false the member receives
// nothing, and {state: 1} starts receiving every publisher (0 stops again).
func (d *Daemon) changeSubscribeState(ctx context.Context, r *control.Request, p *stateParams) (*okResult, error) {
	if _, err := d.rtcCtx(); err != nil {
		return nil, err
	}
	return nil, d.engine.SetSubscribing(p.on())
}

type cameraResult struct {
	result
	DevicePosition string `json:"devicePosition"`
}

// switchCamera swaps the front camera (video.camera) and the back one
// (video.back) under the running call.
func (d *Daemon) switchCamera(ctx context.Context, r *control.Request, _ *noParams) (*cameraResult, error) {
	if _, err := d.rtcCtx(); err != nil {
		return nil, err
	}
	pos, err := d.engine.SwitchCamera()
	if err != nil {
		return nil, err
	}
	return &cameraResult{DevicePosition: pos}, nil
}
