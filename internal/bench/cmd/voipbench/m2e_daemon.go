package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/voipd/voipd/daemon"
	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/internal/compose"
	"github.com/voipd/voipd/proto"
)

// The mouth-to-ear measurement composes daemons in this process the way
// cmd/voipd/app.go and media.go do (daemon.New with package media's audio
// pipelines and a room server URL), with the bench's click devices in
// place of the sound card: voipd has no click source and no timestamped
// playback sink of its own. The media pipelines come from internal/compose,
// as cmd/voipd's do.

// benchAudio opens the bench's devices. Each is made when the daemon opens
// it, so its device clock starts when the call's audio starts.
type benchAudio struct {
	newCapture  func() hw.Capture
	newPlayback func() hw.Playback
}

func (a benchAudio) OpenCapture(string) (hw.Capture, error)   { return a.newCapture(), nil }
func (a benchAudio) OpenPlayback(string) (hw.Playback, error) { return a.newPlayback(), nil }
func (a benchAudio) Devices() (capture, playback []hw.DeviceInfo, err error) {
	return []hw.DeviceInfo{a.newCapture().Info()}, []hw.DeviceInfo{synth.NewSink().Info()}, nil
}

// newBenchDaemon is a daemon for member openid in rooms of rm, with
// config.toml's defaults for everything but identity and room.
func newBenchDaemon(rm *room, openid string, audio hw.AudioSystem, log *slog.Logger) (*daemon.Daemon, error) {
	cfg, err := config.Parse([]byte(fmt.Sprintf("[identity]\nappId = %q\nopenid = %q\nsessionKey = %q\n[room]\nurl = %q\n[display]\nlisten = \"\"\n",
		appID, openid, proto.SessionKey(rm.secret, openid), rm.ws)))
	if err != nil {
		return nil, err
	}
	mf, err := compose.NewMediaFactory(cfg, log)
	if err != nil {
		return nil, err
	}
	return daemon.New(daemon.Params{Config: cfg, Audio: audio, Media: mf, RoomURL: rm.ws, Logger: log}), nil
}

// rpc calls a method of d as the control socket would.
func rpc(d *daemon.Daemon, method string, params any) error {
	b, err := json.Marshal(params)
	if err != nil {
		return err
	}
	_, err = d.ServeRPC(context.Background(), &control.Request{ID: json.RawMessage("1"), Method: method, Params: b})
	return err
}
