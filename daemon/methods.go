package daemon

import (
	"context"

	"github.com/voipd/voipd/daemon/control"
)

// family is which seed a method mirrors: its error codes differ.
type family int

const (
	famGroup family = iota // wx.joinVoIPChat and voipd's own methods
	fam1v1                 // wx.join1v1Chat
	famRTC                 // tt RtcRoomContext
)

// method is one entry of the table: the seed family whose codes it answers
// with and the handler that serves it.
type method struct {
	family family
	serve  func(d *Daemon, ctx context.Context, r *control.Request) (any, error)
}

// methods is the one table of the control socket's methods (besides
// control's own subscribe and unsubscribe). Each handler's signature
// declares its params and result types; handle decodes and completes them.
var methods = map[string]method{
	// Group rooms (seeds 000/001) and voipd's own.
	"joinVoIPChat":              {famGroup, handle((*Daemon).joinVoIPChat)},
	"exitVoIPChat":              {famGroup, handle((*Daemon).exitVoIPChat)},
	"updateVoIPChatMuteConfig":  {famGroup, handle((*Daemon).updateVoIPChatMuteConfig)},
	"subscribeVoIPVideoMembers": {famGroup, handle((*Daemon).subscribeVoIPVideoMembers)},
	"status":                    {famGroup, handle((*Daemon).status)},
	"listDevices":               {famGroup, handle((*Daemon).listDevices)},
	"getStats":                  {famGroup, handle((*Daemon).getStats)},
	"setVolume":                 {famGroup, handle((*Daemon).setVolume)},
	"getVolume":                 {famGroup, handle((*Daemon).getVolume)},
	// Two-party calls (seed 002).
	"setEnable1v1Chat": {fam1v1, handle((*Daemon).setEnable1v1Chat)},
	"join1v1Chat":      {fam1v1, handle((*Daemon).join1v1Chat)},
	"answer1v1Chat":    {fam1v1, handle((*Daemon).answer1v1Chat)},
	"switch1v1Chat":    {fam1v1, handle((*Daemon).switch1v1Chat)},
	// Token rooms (seed 003).
	"createRtcRoomContext":  {famRTC, handle((*Daemon).createRtcRoomContext)},
	"joinRtcRoom":           {famRTC, handle((*Daemon).joinRtcRoom)},
	"exitRtcRoom":           {famRTC, handle((*Daemon).exitRtcRoom)},
	"switchCamera":          {famRTC, handle((*Daemon).switchCamera)},
	"changeVideoCapture":    {famRTC, handle((*Daemon).changeVideoCapture)},
	"changeAudioCapture":    {famRTC, handle((*Daemon).changeAudioCapture)},
	"changeSubscribeState":  {famRTC, handle((*Daemon).changeSubscribeState)},
	"destroyRtcRoomContext": {famRTC, handle((*Daemon).destroyRtcRoomContext)},
}

// checker is a params type that checks itself after decoding (required
// fields, values from a list): a failure is control.InvalidParams naming
// the field.
type checker interface{ check() error }

// result is what every result type embeds: errCode 0 and "<method>:ok",
// as the control API (README.md) gives every success.
type result struct {
	ErrCode int    `json:"errCode"`
	ErrMsg  string `json:"errMsg"`
}

func (r *result) ok(method string) { r.ErrCode, r.ErrMsg = 0, method+":ok" }

// okResult is the result of a method that returns nothing else.
type okResult struct{ result }

// handle adapts a typed handler to the table: it decodes the params into
// P (a type error names the field), lets P check itself, calls h and
// completes its result R with errCode and errMsg.
func handle[P any, R any, PR interface {
	*R
	ok(method string)
}](h func(d *Daemon, ctx context.Context, r *control.Request, p *P) (PR, error)) func(*Daemon, context.Context, *control.Request) (any, error) {
	return func(d *Daemon, ctx context.Context, r *control.Request) (any, error) {
		var p P
		if _, none := any(&p).(*noParams); !none {
			if err := decodeParams(r.Params, &p); err != nil {
				return nil, err
			}
		}
		if c, ok := any(&p).(checker); ok {
			if err := c.check(); err != nil {
				return nil, err
			}
		}
		res, err := h(d, ctx, r, &p)
		if err != nil {
			return nil, err
		}
		if res == nil {
			res = new(R)
		}
		res.ok(r.Method)
		return res, nil
	}
}

// noParams is the params of a method that takes none: whatever is given
// is not read.
type noParams struct{}
