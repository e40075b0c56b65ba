package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/voipd/voipd/daemon"
	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/proto"
)

// The mouth-to-ear measurement composes daemons in this process the way
// cmd/voipd/app.go and media.go do (daemon.New with package media's audio
// pipelines and a room server URL), with the bench's click devices in
// place of the sound card: voipd has no click source and no timestamped
// playback sink of its own. The media factory below is a copy of
// cmd/voipd/media.go's.

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
	mc := media.AudioConfig{
		Bitrate: cfg.Opus.Bitrate, DisableFEC: !cfg.Opus.FEC, DisableDTX: !cfg.Opus.DTX,
		PacketLossPerc: cfg.Opus.PacketLossPerc, Complexity: cfg.Opus.Complexity,
		JitterMinMs: cfg.Audio.JitterMinMs, JitterMaxMs: cfg.Audio.JitterMaxMs,
	}
	if cfg.Opus.PacketLossPerc == 0 {
		mc.PacketLossPerc = -1
	}
	if err := mc.Validate(); err != nil {
		return nil, err
	}
	return daemon.New(daemon.Params{Config: cfg, Audio: audio, Media: &mediaFactory{cfg: mc, log: log}, RoomURL: rm.ws, Logger: log}), nil
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

type mediaFactory struct {
	cfg media.AudioConfig
	log *slog.Logger
}

func (f *mediaFactory) NewCall(capture hw.Capture, playback hw.Playback, out daemon.RTPWriter, extID uint8) (daemon.Call, error) {
	snd, err := media.NewAudioSender(capture, out, f.cfg, extID, f.log)
	if err != nil {
		return nil, err
	}
	rcv, err := media.NewAudioReceiver(playback, f.cfg, f.log)
	if err != nil {
		return nil, err
	}
	return &call{snd: snd, rcv: rcv}, nil
}

type call struct {
	snd *media.AudioSender
	rcv *media.AudioReceiver
}

func (c *call) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- c.snd.Run(ctx) }()
	go func() { errs <- c.rcv.Run(ctx) }()
	first := <-errs
	cancel()
	second := <-errs
	return errors.Join(first, second)
}

func (c *call) AddMember(member string, src daemon.RTPReader, extID uint8) {
	c.rcv.AddMember(member, src, extID)
}

func (c *call) RemoveMember(member string) { c.rcv.RemoveMember(member) }

func (c *call) SetMute(m proto.MuteConfig) {
	c.snd.SetMuted(m.MuteMicrophone)
	c.rcv.SetMuted(m.MuteEarphone)
}

func (c *call) Stats() daemon.CallStats {
	o := c.snd.Stats()
	in := c.rcv.AppendStats(nil)
	cs := daemon.CallStats{
		Outbound:   []daemon.OutboundStats{{Kind: "audio", PacketsSent: o.PacketsSent, BytesSent: o.BytesSent}},
		LocalLevel: o.Level,
	}
	for _, s := range in {
		cs.Inbound = append(cs.Inbound, daemon.InboundStats{
			Member: s.Member, Kind: "audio", PacketsReceived: s.PacketsReceived, BytesReceived: s.BytesReceived,
			PacketsLost: s.PacketsLost, JitterMs: s.JitterMs, AudioLevel: s.AudioLevel, FramesDecoded: s.FramesDecoded,
		})
	}
	return cs
}
