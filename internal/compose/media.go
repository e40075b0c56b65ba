// Package compose builds the daemon's media from package media: the one
// place where the media pipelines meet the daemon's small interfaces
// (media and daemon may not import each other). cmd/voipd uses it, and so
// does the benchmark that composes daemons in one process.
package compose

import (
	"context"
	"errors"
	"log/slog"

	"github.com/voipd/voipd/daemon"
	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/proto"
)

// MediaFactory builds each room's audio pipeline from package media.
type MediaFactory struct {
	cfg media.AudioConfig
	log *slog.Logger
}

// NewMediaFactory takes the [opus] and [audio] settings of c.
func NewMediaFactory(c *config.Config, log *slog.Logger) (*MediaFactory, error) {
	mc := media.AudioConfig{
		Bitrate:        c.Opus.Bitrate,
		DisableFEC:     !c.Opus.FEC,
		DisableDTX:     !c.Opus.DTX,
		PacketLossPerc: c.Opus.PacketLossPerc,
		Complexity:     c.Opus.Complexity,
		FrameMs:        c.Audio.FrameMs,
		JitterMinMs:    c.Audio.JitterMinMs,
		JitterMaxMs:    c.Audio.JitterMaxMs,
	}
	if c.Opus.PacketLossPerc == 0 {
		mc.PacketLossPerc = -1 // media's 0 means its default; the config's 0 means none
	}
	if err := mc.Validate(); err != nil {
		return nil, err
	}
	return &MediaFactory{cfg: mc, log: log}, nil
}

// NewCall implements daemon.Media.
func (f *MediaFactory) NewCall(capture hw.Capture, playback hw.Playback, out daemon.RTPWriter, extID uint8) (daemon.Call, error) {
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

// call runs one sender and one receiver together.
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
	cancel() // one side failing (a device lost) stops the other
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
		Inbound:    make([]daemon.InboundStats, 0, len(in)),
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
