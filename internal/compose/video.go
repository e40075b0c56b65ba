package compose

import (
	"context"
	"log/slog"

	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/daemon"
	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// VideoFactory builds a video room's pipelines from package media.
type VideoFactory struct {
	cfg     media.VideoConfig
	log     *slog.Logger
	onFrame func(member string, img yuv.I420) // tests read the decoded pictures; nil in production
}

// NewVideoFactory takes the [video] settings of c; onFrame, if set, sees
// every decoded picture (tests read frame numbers from it).
func NewVideoFactory(c *config.Config, log *slog.Logger, onFrame func(string, yuv.I420)) (*VideoFactory, error) {
	vc := media.VideoConfig{
		Width: c.Video.Width, Height: c.Video.Height, FPS: c.Video.FPS,
		Bitrate: c.Video.Bitrate, CPUUsed: c.Video.CPUUsed, Threads: c.Video.Threads,
	}
	if err := vc.Validate(); err != nil {
		return nil, err
	}
	return &VideoFactory{cfg: vc, log: log, onFrame: onFrame}, nil
}

// NewVideoSender implements daemon.VideoMedia.
func (f *VideoFactory) NewVideoSender(cam hw.Camera, out daemon.RTPWriter, feedback daemon.RTCPReader) (daemon.VideoSender, error) {
	s, err := media.NewVideoSender(cam, out, f.cfg, f.log)
	if err != nil {
		return nil, err
	}
	return &videoSender{s: s, feedback: feedback}, nil
}

// NewVideoReceiver implements daemon.VideoMedia.
func (f *VideoFactory) NewVideoReceiver(member string, src daemon.RTPReader, wantKeyframe func()) daemon.VideoReceiver {
	var onFrame func(string, yuv.I420, bool)
	if f.onFrame != nil {
		onFrame = func(m string, img yuv.I420, _ bool) { f.onFrame(m, img) }
	}
	r := media.NewVideoReceiver(member, src, f.log, onFrame)
	r.OnKeyframeNeeded(wantKeyframe)
	return videoReceiver{r}
}

// videoSender runs the sender and reads its RTCP (PLI/FIR → keyframe,
// REMB → bitrate) for as long as it runs.
type videoSender struct {
	s        *media.VideoSender
	feedback daemon.RTCPReader
}

func (v *videoSender) Run(ctx context.Context) error {
	if v.feedback != nil {
		go media.WatchRTCP(v.feedback, v.s) // ends when the sender's transport closes
	}
	return v.s.Run(ctx)
}

func (v *videoSender) RequestKeyframe()   { v.s.RequestKeyframe() }
func (v *videoSender) SetPaused(p bool)   { v.s.SetPaused(p) }
func (v *videoSender) SetBitrate(bps int) { v.s.SetBitrate(bps) }

func (v *videoSender) Stats() daemon.VideoOutboundStats {
	s := v.s.Stats()
	return daemon.VideoOutboundStats{
		PacketsSent: s.PacketsSent, BytesSent: s.BytesSent, FramesEncoded: s.FramesEncoded,
		KeyFramesSent: s.KeyFramesEncoded, TargetBitrate: s.Bitrate, CameraDropped: s.FramesDropped,
	}
}

type videoReceiver struct{ r *media.VideoReceiver }

func (v videoReceiver) Run(ctx context.Context) error { return v.r.Run(ctx) }

func (v videoReceiver) Stats() daemon.VideoInboundStats {
	s := v.r.Stats()
	return daemon.VideoInboundStats{
		PacketsReceived: s.PacketsReceived, BytesReceived: s.BytesReceived, PacketsLost: int64(s.PacketsLost),
		FramesReceived: s.FramesReceived, FramesDecoded: s.FramesDecoded, KeyFramesDecode: s.KeyFramesDecoded, FramesDropped: s.FramesDropped,
		FrameWidth: s.Width, FrameHeight: s.Height,
	}
}
