package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"

	"github.com/voipd/voipd/codec/apm"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media/settings"

	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/media"
)

// Factory builds a room's pipelines (media.Factory) with one audio and one
// video configuration, as daemon/config validated them.
type Factory struct {
	audio settings.Audio
	video settings.Video
	log   *slog.Logger
	// onFrame, when set, sees every member's decoded picture (tests read
	// frame numbers from it); voipd itself decodes no member's video.
	onFrame func(member string, img yuv.I420)
	totals  media.Totals
}

// Totals are the counters of every pipeline the Factory built, summed
// over calls and streams (metrics read them).
func (f *Factory) Totals() *media.Totals { return &f.totals }

// NewFactory returns a Factory; log may be nil (slog.Default), onFrame nil
// in production.
func NewFactory(audio settings.Audio, video settings.Video, log *slog.Logger, onFrame func(member string, img yuv.I420)) *Factory {
	if log == nil {
		log = slog.Default()
	}
	return &Factory{audio: audio, video: video, log: log, onFrame: onFrame}
}

// NewCall builds one room's audio: an AudioSender and an AudioReceiver
// that run together.
func (f *Factory) NewCall(p media.CallParams) (media.Call, error) {
	snd, err := NewAudioSender(p.Capture, p.Out, f.audio, p.LevelExtID, p.Volume, f.log)
	if err != nil {
		return nil, err
	}
	rcv := NewAudioReceiver(p.Playback, f.audio, p.LevelExtID, p.Volume, f.log)
	snd.totals, rcv.totals = &f.totals, &f.totals
	// One wakeup a period for both devices: the microphone's tops up the
	// speaker's queue (AudioReceiver.Run).
	snd.afterFrame = rcv.topUp
	if p.LevelsChanged != nil {
		w := &levelWatch{threshold: p.SpeakingLevel, changed: p.LevelsChanged}
		snd.watch, rcv.watch = w, w
	}
	if lost := p.DeviceLost; lost != nil {
		snd.OnLost(func(err error) { lost("microphone", err) })
		rcv.OnLost(func(err error) { lost("speaker", err) })
	}
	return &call{snd: snd, rcv: rcv, apm: apmConfig(f.audio, p.Capture), log: f.log}, nil
}

// call runs one sender and one receiver together (media.Call), with the
// hands-free processing between them while it runs.
type call struct {
	snd  *AudioSender
	rcv  *AudioReceiver
	apm  apm.Config
	log  *slog.Logger
	proc atomic.Pointer[processing] // while Run runs, when a stage is on
}

func (c *call) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if proc := newProcessing(c.apm, c.log); proc != nil {
		c.snd.proc, c.rcv.proc = proc, proc // before their goroutines start
		c.proc.Store(proc)
		defer func() {
			c.proc.Store(nil)
			proc.close() // both have returned
		}()
	}
	errs := make(chan error, 2)
	go func() { errs <- c.snd.Run(ctx) }()
	go func() { errs <- c.rcv.Run(ctx) }()
	first := <-errs
	cancel() // one side failing (a device lost) stops the other
	second := <-errs
	return errors.Join(first, second)
}

func (c *call) AddMember(member string, src media.RTPReader) { c.rcv.AddMember(member, src) }
func (c *call) RemoveMember(member string)                   { c.rcv.RemoveMember(member) }
func (c *call) SetCapture(d hw.Capture)                      { c.snd.SetCapture(d) }
func (c *call) SetPlayback(d hw.Playback)                    { c.rcv.SetPlayback(d) }
func (c *call) SetUplinkLoss(fraction float64)               { c.snd.SetUplinkLoss(fraction) }

func (c *call) SetMute(microphone, earphone bool) {
	c.snd.SetMuted(microphone)
	c.rcv.SetMuted(earphone)
}

func (c *call) Stats() media.CallStats {
	cs := media.CallStats{Outbound: c.snd.Stats(), Inbound: c.rcv.AppendStats(nil)}
	if proc := c.proc.Load(); proc != nil {
		cs.Processing = proc.stats() // after a close, its figures are zero, never freed memory
	}
	return cs
}

// NewVideoSender builds a camera's sender; it reads the track's RTCP
// (PLI/FIR → keyframe, REMB → bitrate) for as long as it runs.
func (f *Factory) NewVideoSender(p media.VideoSenderParams) (media.VideoSender, error) {
	s, err := NewVideoSender(p.Camera, p.Out, f.video, f.log)
	if err != nil {
		return nil, err
	}
	s.totals = &f.totals
	return &videoSender{VideoSender: s, feedback: p.Feedback}, nil
}

type videoSender struct {
	*VideoSender
	feedback media.RTCPReader
}

func (v *videoSender) Run(ctx context.Context) error {
	if v.feedback != nil {
		go WatchRTCP(v.feedback, v.VideoSender) // ends when the sender's transport closes
	}
	return v.VideoSender.Run(ctx)
}

// NewVideoReceiver builds one member's receiver.
func (f *Factory) NewVideoReceiver(p media.VideoReceiverParams) (media.VideoReceiver, error) {
	var onFrame func(string, yuv.I420, bool)
	if f.onFrame != nil {
		onFrame = func(m string, img yuv.I420, _ bool) { f.onFrame(m, img) }
	}
	r := NewVideoReceiver(p.Member, p.Src, f.log, onFrame)
	r.totals = &f.totals
	if p.WantKeyframe != nil {
		r.OnKeyframeNeeded(p.WantKeyframe)
	}
	if p.Display != nil {
		r.SetDisplay(p.Display)
	}
	return r, nil
}
