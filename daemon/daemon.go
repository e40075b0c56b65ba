// Package daemon is voipd's control surface: the methods of the control
// socket (the seeds' joinVoIPChat, join1v1Chat and RtcRoomContext families,
// and voipd's own status, listDevices, getStats, ...), their typed params,
// results and events, the scopes a client's credentials grant, and the
// mapping of every failure and event to the seeds' codes and names.
//
// The methods live in one table (methods.go): name → family (which seed's
// codes it answers with), handler (which declares its params and result
// types). Handlers check params and scopes and call the session engine
// (daemon/session), which owns the device's one session; seed.go turns
// what fails into the seed's code and reason, events.go names and shapes
// what the engine emits. Devices are seen through hw's cgo-free
// interfaces, media through media's, the network through the engine.
package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"sync"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/daemon/session"
	"github.com/voipd/voipd/hw"
)

// Publisher sends events to subscribed control clients (control.Server).
type Publisher interface {
	Publish(event string, params any)
	Stats() control.Stats
}

// Params are what New needs; cmd/voipd fills them.
type Params struct {
	Config *config.Config
	// Session is the engine's Params; its Events are set by New (the
	// daemon names and shapes what the engine emits).
	Session session.Params
	// WebURL is the embedded room server's browser client ("" when voipd
	// joins a room server elsewhere): joins log a link to the room there.
	WebURL string
	Logger *slog.Logger
}

// Daemon serves the control socket's methods. Its zero value is not
// usable; make one with New.
type Daemon struct {
	p        Params
	cfg      *config.Config
	log      *slog.Logger
	audio    hw.AudioSystem
	cameras  hw.CameraSystem
	engine   *session.Engine
	events   events
	counters counters

	mu  sync.Mutex
	rtc rtcContext // Douyin's RtcRoomContext object (rtc.go)
}

// New makes a daemon. Nothing is opened until a join.
func New(p Params) *Daemon {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	d := &Daemon{p: p, cfg: p.Config, log: p.Logger, audio: p.Session.Audio, cameras: p.Session.Cameras}
	sp := p.Session
	d.events.counters = &d.counters
	sp.Config, sp.Logger, sp.Events = p.Config, p.Logger, &d.events
	d.engine = session.New(sp)
	return d
}

// SetEvents sets where events go (the control server, which needs the
// daemon as its handler first). Call before serving.
func (d *Daemon) SetEvents(p Publisher) { d.events.set(p) }

// ServeRPC implements control.Handler: the method's entry of the table
// serves it, and a failure becomes the seed's answer for the method's
// family.
func (d *Daemon) ServeRPC(ctx context.Context, r *control.Request) (any, error) {
	m, found := methods[r.Method]
	if !found {
		return nil, control.ErrMethodNotFound
	}
	res, err := m.serve(d, ctx, r)
	if err == nil && isJoin(r.Method) {
		d.counters.join(r.Method, 0)
	}
	if err != nil {
		e := seedError(m.family, r.Method, err)
		if isJoin(r.Method) {
			d.counters.join(r.Method, e.Code)
		}
		// Every failure is logged (the journal's METHOD= and ERRCODE=
		// fields find them); the unexpected ones as warnings.
		level := slog.LevelInfo
		if e.Code == codeOther || e.Code == codeCallInternal {
			level = slog.LevelWarn
		}
		d.log.Log(ctx, level, "request failed", "method", r.Method, "errCode", e.Code, "err", err)
		return nil, e
	}
	return res, nil
}

// Shutdown leaves the room (a pending join answers -3 first) and closes the
// devices, within ctx.
func (d *Daemon) Shutdown(ctx context.Context) { d.engine.Shutdown(ctx) }

// StartCalls registers for calls at start when the config says so.
func (d *Daemon) StartCalls(ctx context.Context) { d.engine.StartCalls(ctx) }

// Rejoin gets back into the group room or token room voipd was in when it
// was killed, if one was kept (session.Engine.Rejoin); a token room's
// RtcRoomContext exists again, as its client had created it.
func (d *Daemon) Rejoin(ctx context.Context) {
	d.engine.Rejoin(ctx, func(k session.Kept) {
		if k.Kind == session.KindRTC {
			d.mu.Lock()
			d.rtc = rtcContext{created: true, appID: k.AppID}
			d.mu.Unlock()
		}
	})
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
			return control.InvalidParams(field, "must be "+jsonType(te.Type)+", not "+jsonValue(te.Value))
		}
		return control.InvalidParams("params", "must be a JSON object")
	}
	return nil
}

// jsonType names the JSON a Go type is decoded from, for a client that
// knows JSON and not Go ("a number", not "a float64"; "an object", not
// "a daemon.joinParams").
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another JSON value"
}

// jsonValue names the JSON value encoding/json found ("number", "string",
// "array", "object", "bool", or "number -1" for a number out of range).
func jsonValue(v string) string {
	switch v {
	case "bool":
		return "true or false"
	case "array", "object":
		return "an " + v
	}
	return "a " + v
}
