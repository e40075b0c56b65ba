// Package pipeline is voipd's media pipelines, the cgo half of package
// media: for audio, capture → Opus encode → RTP (with the RFC 6464 audio
// level) → WriteRTP on the send side, and for every room member RTP →
// jitter buffer → Opus decode with PLC/FEC → one mixer → playback on the
// receive side; for video, camera → I420 → VP8 → RTP, and RTP → VP8
// frames (→ pictures). Factory builds them as media.Factory.
//
// The per-frame path allocates nothing (docs/ARCHITECTURE.md, "The path
// of a frame"): buffers, the RTP packet and every member's state are
// allocated when a pipeline or member is created, and tests check that
// with testing.AllocsPerRun. Pipelines
// are paced by their devices (a capture's Read and a playback's Write
// block for one frame: 20 ms, or 10 ms with settings.Audio.FrameMs),
// never by sleeps. The settings come validated (daemon/config checks them
// against media's limits): the pipelines use them as they are.
package pipeline

import (
	"context"

	"github.com/voipd/voipd/media/settings"

	"github.com/voipd/voipd/codec/opus"
)

// encoderParams is the Opus encoder's part of c.
func encoderParams(c settings.Audio) opus.EncoderParams {
	return opus.EncoderParams{
		Bitrate:        c.Bitrate,
		FEC:            c.FEC,
		DTX:            c.DTX,
		PacketLossPerc: c.PacketLossPerc,
		Complexity:     c.Complexity,
	}
}

// ctxDone reports whether ctx has ended, without allocating.
func ctxDone(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	default:
		return false
	}
}
