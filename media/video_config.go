package media

import (
	"errors"
	"fmt"

	"github.com/voipd/voipd/codec/vp8"
)

// Defaults for the zero values of VideoConfig.
const (
	DefaultVideoWidth  = 640
	DefaultVideoHeight = 480
	DefaultVideoFPS    = 30
	// DefaultVideoBitrate: 800 kbit/s gives 640x480@30 a clean picture
	// and is what browsers settle at for that size on a good network.
	DefaultVideoBitrate = vp8.DefaultBitrate
	DefaultVideoCPUUsed = vp8.DefaultCPUUsed // libvpx realtime speed
	// DefaultVideoThreads is 1: a second libvpx thread gained only 10–25 %
	// here and takes the core audio and the network need (vp8.DefaultThreads).
	DefaultVideoThreads = vp8.DefaultThreads
)

// The range a receiver's estimate (REMB) may move the video bitrate in:
// below 50 kbit/s VP8 at 640x480 is mush, above 4 Mbit/s a kiosk camera
// gains nothing.
const (
	MinVideoBitrate = 50_000
	MaxVideoBitrate = 4_000_000
)

// VideoConfig tunes the video pipelines. Every zero value means the
// default, so VideoConfig{} is VP8 at 640x480, 30 fps, 800 kbit/s,
// cpu-used −6 (fixed speed 6, as libwebrtc), one encoder thread.
type VideoConfig struct {
	Width, Height int // the encoded size; the camera's frames are scaled to it
	FPS           int // the camera's nominal rate (it paces the sender)
	Bitrate       int // bit/s at the start; REMB moves it within Min/MaxVideoBitrate
	CPUUsed       int // libvpx cpu-used, -16..16
	Threads       int // libvpx encoder threads, 1..16
}

// WithDefaults returns c with every zero value replaced by its default.
func (c VideoConfig) WithDefaults() VideoConfig {
	if c.Width == 0 {
		c.Width = DefaultVideoWidth
	}
	if c.Height == 0 {
		c.Height = DefaultVideoHeight
	}
	if c.FPS == 0 {
		c.FPS = DefaultVideoFPS
	}
	if c.Bitrate == 0 {
		c.Bitrate = DefaultVideoBitrate
	}
	if c.CPUUsed == 0 {
		c.CPUUsed = DefaultVideoCPUUsed
	}
	if c.Threads == 0 {
		c.Threads = DefaultVideoThreads
	}
	return c
}

// Validate reports every problem of c (after defaults) at once.
func (c VideoConfig) Validate() error {
	c = c.WithDefaults()
	var errs []error
	// Even sizes: 4:2:0 chroma and every camera mode are even.
	if c.Width < 16 || c.Width > 3840 || c.Width%2 != 0 || c.Height < 16 || c.Height > 2160 || c.Height%2 != 0 {
		errs = append(errs, fmt.Errorf("video size %dx%d: want even, 16x16..3840x2160", c.Width, c.Height))
	}
	if c.FPS < 1 || c.FPS > 60 {
		errs = append(errs, fmt.Errorf("video fps %d: want 1..60", c.FPS))
	}
	if c.Bitrate < MinVideoBitrate || c.Bitrate > MaxVideoBitrate {
		errs = append(errs, fmt.Errorf("video bitrate %d: want %d..%d", c.Bitrate, MinVideoBitrate, MaxVideoBitrate))
	}
	if c.CPUUsed < -16 || c.CPUUsed > 16 {
		errs = append(errs, fmt.Errorf("video cpu-used %d: want -16..16", c.CPUUsed))
	}
	if c.Threads < 1 || c.Threads > 16 {
		errs = append(errs, fmt.Errorf("video threads %d: want 1..16", c.Threads))
	}
	return errors.Join(errs...)
}

func (c VideoConfig) encoderParams() vp8.EncoderParams {
	return vp8.EncoderParams{
		Width: c.Width, Height: c.Height, FPS: c.FPS,
		Bitrate: c.Bitrate, CPUUsed: c.CPUUsed, Threads: c.Threads,
	}
}

// clampVideoBitrate keeps a receiver's estimate within the useful range.
func clampVideoBitrate(bps int) int { return min(max(bps, MinVideoBitrate), MaxVideoBitrate) }
