// Package settings is the media pipelines' settings, their defaults and
// their limits, defined once. daemon/config takes its defaults from
// DefaultAudio and DefaultVideo and checks every key against the limits
// below, naming the key; media/pipeline trusts what it passed (a value the
// config accepts works at start, one it refuses is refused at load).
//
// It imports nothing but hw's root: no cgo and no pion, so that everything
// that reads voipd's config (voipctl among them) links neither.
package settings

import "github.com/voipd/voipd/hw"

// Limits of Audio.
const (
	OpusMinBitrate    = 6000   // bit/s, libopus' lowest
	OpusMaxBitrate    = 510000 // bit/s, libopus' highest
	OpusMaxComplexity = 10     // 0..10
	// FrameMs is 20 (Opus' natural frame, WebRTC's ptime) or 10.
	FrameMsShort = 10
	FrameMsLong  = 20
	// JitterMaxMs bounds the jitter buffer's target: a second of delay is
	// past any call worth having, and within what its ring holds.
	JitterMaxMs = 1000
)

// Limits of Video.
const (
	// VideoMinBitrate: below 50 kbit/s VP8 at 640x480 is mush; the
	// send-side estimate never goes lower.
	VideoMinBitrate = 50_000
	// VideoMaxBitrate: 1080p at 30 fps looks clean well below it.
	VideoMaxBitrate = 8_000_000
	VideoMinSize    = 16 // pixels, each side
	VideoMaxWidth   = 3840
	VideoMaxHeight  = 2160
	VideoMaxFPS     = 120
	// VideoMaxCPUUsed: libvpx's realtime speed is -16..-1 (fixed speed
	// |n|) or 1..16 (adaptive); 0 is not a realtime setting.
	VideoMaxCPUUsed = 16
	VideoMaxThreads = 8
)

// Audio tunes both audio pipelines. Every value is used as it is:
// a zero means zero (PacketLossPerc 0 plans no FEC for loss).
type Audio struct {
	Bitrate int  // bit/s
	FEC     bool // Opus in-band forward error correction
	DTX     bool // discontinuous transmission: silence sends next to nothing
	// PacketLossPerc is the loss, in percent, the encoder sizes FEC for.
	PacketLossPerc int
	Complexity     int // libopus complexity 0..10: CPU against quality
	// FrameMs is the frame this daemon captures, encodes, sends and
	// plays: 20 or 10 ms. The device period follows it; received packets
	// may have any Opus duration.
	FrameMs int
	// JitterMinMs and JitterMaxMs bound the jitter buffer's target delay,
	// which follows 4× the measured RFC 3550 interarrival jitter. A floor
	// of one frame suits a LAN: any measured jitter raises the target.
	JitterMinMs, JitterMaxMs int
	// Hands-free processing of a real microphone (codec/apm), each stage
	// on its own; a high-pass filter runs with any of them. A synthetic
	// source gets none: it hears no speaker.
	EchoCancellation, NoiseSuppression, AutoGainControl bool
}

// DefaultAudio is 20 ms Opus at 32 kbit/s with in-band FEC planned
// for 10 % loss and DTX, complexity 9, a jitter buffer adapting
// between 20 and 200 ms, and echo cancellation, noise suppression and
// gain control on.
func DefaultAudio() Audio {
	return Audio{
		Bitrate: 32000, FEC: true, DTX: true, PacketLossPerc: 10, Complexity: 9,
		FrameMs: FrameMsLong, JitterMinMs: 20, JitterMaxMs: 200,
		EchoCancellation: true, NoiseSuppression: true, AutoGainControl: true,
	}
}

// FrameSamples is one frame of c in samples (48 kHz).
func (c Audio) FrameSamples() int { return c.FrameMs * hw.SamplesPerMs }

// Video tunes the video pipelines.
type Video struct {
	Width, Height int // the encoded size; the camera's frames are scaled to it
	FPS           int // the camera's nominal rate (it paces the sender)
	// Bitrate is the most the camera sends, bit/s: the send-side estimate
	// lowers the encoder's target under loss, never above this.
	Bitrate int
	CPUUsed int // libvpx realtime speed
	Threads int // libvpx encoder threads
}

// DefaultVideo is VP8 at 640x480, 30 fps, up to 800 kbit/s (a clean
// picture at that size, what browsers settle at on a good network),
// cpu-used −6 (fixed speed 6, as Chromium), one encoder thread (a second
// measured 10–25× slower on the 2-core machines here: docs/BENCHMARKS.md).
func DefaultVideo() Video {
	return Video{Width: 640, Height: 480, FPS: 30, Bitrate: 800_000, CPUUsed: -6, Threads: 1}
}
