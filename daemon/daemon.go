// Package daemon is voipd's core: the seed methods of the control socket
// (joinVoIPChat and its family, status, listDevices, getStats), the one state
// machine of the device (idle → joining → inRoom → leaving → idle), scopes
// from the client's credentials, and the mapping of every failure to the
// seeds' error codes (errors.go, one function).
//
// It sees devices through hw's cgo-free interfaces, the media pipeline through
// the small Media/Call interfaces below (cmd/voipd builds them from package
// media), and the network through package room.
package daemon

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// Publisher sends events to subscribed control clients (control.Server).
type Publisher interface {
	Publish(event string, params any)
	Stats() control.Stats
}

// Notifier tells systemd about the daemon's state (sdnotify); nil is fine.
type Notifier interface {
	Status(s string)
}

// Params are what New needs; cmd/voipd fills them.
type Params struct {
	Config *config.Config
	Audio  hw.AudioSystem
	Media  media.Factory
	// Video rooms need cameras; Display may be nil (no local screen).
	Cameras hw.CameraSystem
	Display Display
	RoomURL string      // ws(s):// of the room server (the embedded one resolved)
	RoomTLS *tls.Config // nil: system roots
	ICE     []webrtc.ICEServer
	Events  Publisher
	Notify  Notifier
	Logger  *slog.Logger
	// Ringtone is the incoming-call sound (48 kHz mono); nil: a 700 Hz tone.
	Ringtone []int16
}

// Daemon serves the control socket's seed methods. Its zero value is not
// usable; make one with New.
type Daemon struct {
	p   Params
	log *slog.Logger

	volume *media.Volume

	mu    sync.Mutex
	state state
	sess  *session // the room while joining, inRoom or leaving
	calls callState
	rtc   rtcContext
}

// New makes a daemon. Nothing is opened until a join.
func New(p Params) *Daemon {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	return &Daemon{p: p, log: p.Logger, volume: media.NewVolume()}
}

type handlerFunc func(d *Daemon, ctx context.Context, r *control.Request) (map[string]any, error)

var methods = map[string]handlerFunc{
	"joinVoIPChat":              (*Daemon).joinVoIPChat,
	"exitVoIPChat":              (*Daemon).exitVoIPChat,
	"updateVoIPChatMuteConfig":  (*Daemon).updateMute,
	"subscribeVoIPVideoMembers": (*Daemon).subscribeVideoMembers,
	"status":                    (*Daemon).status,
	"listDevices":               (*Daemon).listDevices,
	"getStats":                  (*Daemon).getStats,
	"setVolume":                 (*Daemon).setVolume,
	"getVolume":                 (*Daemon).getVolume,
	"setEnable1v1Chat":          (*Daemon).setEnable1v1Chat,
	"join1v1Chat":               (*Daemon).join1v1Chat,
	"answer1v1Chat":             (*Daemon).answer1v1Chat,
	"switch1v1Chat":             (*Daemon).switch1v1Chat,
	"createRtcRoomContext":      (*Daemon).createRtcRoomContext,
	"joinRtcRoom":               (*Daemon).joinRtcRoom,
	"exitRtcRoom":               (*Daemon).exitRtcRoom,
	"switchCamera":              (*Daemon).switchCamera,
	"changeVideoCapture":        (*Daemon).changeVideoCapture,
	"changeAudioCapture":        (*Daemon).changeAudioCapture,
	"destroyRtcRoomContext":     (*Daemon).destroyRtcRoomContext,
	"changeSubscribeState":      (*Daemon).changeSubscribeState,
}

// ServeRPC implements control.Handler.
func (d *Daemon) ServeRPC(ctx context.Context, r *control.Request) (any, error) {
	h, found := methods[r.Method]
	if !found {
		return nil, control.ErrMethodNotFound
	}
	res, err := h(d, ctx, r)
	if err != nil {
		e := seedError(r.Method, err)
		if e.Code == -1000 {
			d.log.Warn("request failed", "method", r.Method, "code", e.Code, "err", err)
		}
		return nil, e
	}
	return ok(r.Method, res), nil
}

// SetEvents sets where events go (the control server, which needs the
// daemon as its handler first). Call before serving.
func (d *Daemon) SetEvents(p Publisher) { d.p.Events = p }

func (d *Daemon) publish(event string, params any) {
	if d.p.Events != nil {
		d.p.Events.Publish(event, params)
	}
}

func (d *Daemon) notify(s string) {
	if d.p.Notify != nil {
		d.p.Notify.Status(s)
	}
}

// decodeParams unmarshals params into v, turning type errors into -32602
// errors that name the field.
func decodeParams(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "params"
			}
			return control.InvalidParams(field, "must be a "+te.Type.String()+", not a JSON "+te.Value)
		}
		return control.InvalidParams("params", "must be a JSON object")
	}
	return nil
}

// Shutdown leaves the room (a pending join answers -3 first) and closes the
// devices, within ctx.
func (d *Daemon) Shutdown(ctx context.Context) {
	d.mu.Lock()
	s := d.sess
	st := d.state
	d.mu.Unlock()
	if s == nil {
		return
	}
	if st == stateJoining {
		s.cancelJoin(errShutdown)
		select {
		case <-s.joinDone:
		case <-ctx.Done():
		}
		return
	}
	d.leave(ctx, s, "shutdown")
}

// leaveTimeout bounds how long leaving politely may take.
const leaveTimeout = 3 * time.Second
