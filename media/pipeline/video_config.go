package pipeline

import (
	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/media/settings"
)

// VideoEncoderParams is the VP8 encoder's part of c: what a VideoSender
// encodes with (the bench's codec floor encodes with it too).
func VideoEncoderParams(c settings.Video) vp8.EncoderParams {
	return vp8.EncoderParams{
		Width: c.Width, Height: c.Height, FPS: c.FPS,
		Bitrate: c.Bitrate, CPUUsed: c.CPUUsed, Threads: c.Threads,
	}
}

// clampVideoBitrate keeps an estimate between settings.VideoMinBitrate and
// the configured most, hi: the estimate lowers the bitrate under loss,
// never raises it above what the config allows.
func clampVideoBitrate(bps, hi int) int { return min(max(bps, settings.VideoMinBitrate), hi) }
