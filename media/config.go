// Package media is voipd's audio pipeline: capture → Opus encode → RTP
// (with the RFC 6464 audio level) → WriteRTP on the send side, and for
// every room member RTP → jitter buffer → Opus decode with PLC/FEC → one
// mixer → playback on the receive side.
//
// The per-frame path allocates nothing (DESIGN.md §4): buffers, the RTP
// packet and every member's state are allocated when a pipeline or member
// is created, and tests check that with testing.AllocsPerRun. Pipelines
// are paced by their devices (a capture's Read and a playback's Write
// block for one frame: 20 ms, or 10 ms with AudioConfig.FrameMs), never
// by sleeps. media sees devices through
// hw's interfaces and codecs through codec's packages only.
package media

import (
	"context"
	"errors"
	"fmt"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/voipd/voipd/codec/opus"
	"github.com/voipd/voipd/hw"
)

// RTPWriter is where the sender puts its packets;
// *webrtc.TrackLocalStaticRTP satisfies it.
type RTPWriter interface {
	WriteRTP(*rtp.Packet) error
}

// RTPReader is one member's incoming RTP; *webrtc.TrackRemote satisfies it.
type RTPReader interface {
	Read(b []byte) (int, interceptor.Attributes, error)
}

// Defaults for the zero values of AudioConfig.
const (
	DefaultBitrate        = opus.DefaultBitrate        // 32 kbit/s
	DefaultPacketLossPerc = opus.DefaultPacketLossPerc // 10 %
	DefaultJitterMinMs    = 20
	DefaultJitterMaxMs    = 200
	// maxJitterMs bounds JitterMaxMs below what the jitter ring can hold
	// of the shortest frames.
	maxJitterMs = (ringSize - 8) * minFrameMs
)

// AudioConfig tunes both pipelines. Every zero value means the default, so
// AudioConfig{} is Opus at 32 kbit/s with in-band FEC and DTX on, tuned
// for 10 % loss, and a jitter buffer adapting between 20 and 200 ms.
type AudioConfig struct {
	Bitrate int // bit/s; 0 → DefaultBitrate
	// DisableFEC turns off Opus in-band FEC (on by default, DESIGN.md §4).
	DisableFEC bool
	// DisableDTX turns off discontinuous transmission (on by default:
	// silence sends next to nothing).
	DisableDTX bool
	// PacketLossPerc is the loss FEC protects against; 0 → 10 %, negative → 0 %.
	PacketLossPerc int
	// Complexity 1..10; 0 keeps libopus' default (10 at 48 kHz).
	Complexity int
	// FrameMs is the frame this daemon captures, encodes, sends and plays:
	// 20 (0 means 20) or 10 ms. The device period follows it. Received
	// packets may have any Opus duration whatever FrameMs is.
	FrameMs int
	// JitterMinMs and JitterMaxMs bound the jitter buffer's target delay,
	// which follows 4× the measured RFC 3550 interarrival jitter;
	// 0 → 20 and 200 ms. A floor of one frame suits loopback or a LAN:
	// the measured jitter keeps the target there, and any jitter raises it.
	JitterMinMs, JitterMaxMs int
}

// WithDefaults returns c with every zero value replaced by its default.
func (c AudioConfig) WithDefaults() AudioConfig {
	if c.Bitrate == 0 {
		c.Bitrate = DefaultBitrate
	}
	if c.PacketLossPerc == 0 {
		c.PacketLossPerc = DefaultPacketLossPerc
	}
	if c.FrameMs == 0 {
		c.FrameMs = frameMs
	}
	if c.JitterMinMs == 0 {
		c.JitterMinMs = DefaultJitterMinMs
	}
	if c.JitterMaxMs == 0 {
		c.JitterMaxMs = max(DefaultJitterMaxMs, c.JitterMinMs)
	}
	return c
}

// Validate reports every problem of c (after defaults) at once.
func (c AudioConfig) Validate() error {
	c = c.WithDefaults()
	var errs []error
	if c.Bitrate < 6000 || c.Bitrate > 510000 {
		errs = append(errs, fmt.Errorf("audio bitrate %d: want 6000..510000", c.Bitrate))
	}
	if c.PacketLossPerc > 100 {
		errs = append(errs, fmt.Errorf("audio packet loss %d%%: want 0..100", c.PacketLossPerc))
	}
	if c.Complexity < 0 || c.Complexity > 10 {
		errs = append(errs, fmt.Errorf("audio complexity %d: want 0..10", c.Complexity))
	}
	if c.FrameMs != 10 && c.FrameMs != 20 {
		errs = append(errs, fmt.Errorf("audio frame %d ms: want 10 or 20", c.FrameMs))
	}
	if c.JitterMinMs < c.FrameMs || c.JitterMinMs > maxJitterMs {
		errs = append(errs, fmt.Errorf("jitter min %d ms: want %d..%d (at least one frame)", c.JitterMinMs, c.FrameMs, maxJitterMs))
	}
	if c.JitterMaxMs < c.JitterMinMs || c.JitterMaxMs > maxJitterMs {
		errs = append(errs, fmt.Errorf("jitter max %d ms: want %d..%d", c.JitterMaxMs, c.JitterMinMs, maxJitterMs))
	}
	return errors.Join(errs...)
}

// frameSamples is one frame of c (after defaults) in samples.
func (c AudioConfig) frameSamples() int { return c.FrameMs * hw.SamplesPerMs }

func (c AudioConfig) encoderParams() opus.EncoderParams {
	return opus.EncoderParams{
		Bitrate:        c.Bitrate,
		FEC:            !c.DisableFEC,
		DTX:            !c.DisableDTX,
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
