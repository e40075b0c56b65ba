package vp8

// #include <stdlib.h>
// #include "vpx.h"
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/voipd/voipd/codec/yuv"
)

// Defaults applied to the zero values of EncoderParams.
const (
	DefaultFPS     = 30
	DefaultBitrate = 800_000 // bit/s: 640x480@30 looks clean at this rate
	// DefaultCPUUsed: libvpx's speed setting for realtime, -16..16. A
	// positive n lets libvpx choose the speed from its own encode times: it
	// slows down (4 at the slowest) while a frame takes less than
	// (16−n)/16 of the frame interval, so on a fast machine it spends CPU
	// for quality nobody asked for; a negative n fixes speed |n|. −6 is
	// libwebrtc's (Chromium's) choice on x86 at 640x480. Measured here with
	// the pattern camera at 640x480@30, 800 kbit/s (voipbench vp8speed):
	// 8 took 5.3 ms a frame for 50.3 dB luma PSNR, −6 2.6 ms for 49.7 dB,
	// −8 2.0 ms for 49.1 dB; on codectest's textured pattern −8 lost 6 dB
	// against −6.
	DefaultCPUUsed = -6
	// DefaultThreads is 1. Measured here (2 cores, BenchmarkVP8EncodeThreads,
	// encoder alone, unpaced): 2 threads took 1.6–1.9 ms a 640x480 frame
	// against 2.0–2.1 ms with 1, and 7.7–9.6 ms against 10.2 ms at
	// 1280x720 — 10–25 % faster, not the many-times slowdown reported on
	// these machines before. The gain is small and the second core is the
	// one left for capture, MJPEG decoding, audio and the network, so the
	// default stays 1 and Threads is a config value.
	DefaultThreads = 1
	// DefaultKeyframeSeconds: a keyframe at least this often even without
	// a PLI, so a receiver that missed one recovers by itself.
	DefaultKeyframeSeconds = 3
)

// EncoderParams configures an Encoder. Zero values select the defaults.
type EncoderParams struct {
	Width, Height int // required, even or odd
	FPS           int // nominal frame rate; 0 → DefaultFPS
	Bitrate       int // target in bit/s (libvpx counts kbit/s); 0 → DefaultBitrate
	CPUUsed       int // -16..16; 0 → DefaultCPUUsed
	Threads       int // 1..16; 0 → DefaultThreads
	// KeyframeInterval is the most frames between keyframes;
	// 0 → DefaultKeyframeSeconds × FPS.
	KeyframeInterval int
}

func (p EncoderParams) withDefaults() EncoderParams {
	if p.FPS == 0 {
		p.FPS = DefaultFPS
	}
	if p.Bitrate == 0 {
		p.Bitrate = DefaultBitrate
	}
	if p.CPUUsed == 0 {
		p.CPUUsed = DefaultCPUUsed
	}
	if p.Threads == 0 {
		p.Threads = DefaultThreads
	}
	if p.KeyframeInterval == 0 {
		p.KeyframeInterval = DefaultKeyframeSeconds * p.FPS
	}
	return p
}

// Encoder encodes I420 frames to VP8. Frame dropping is off: every Encode
// returns a frame, which keeps keyframe requests and statistics simple;
// CBR rate control lowers quality instead. It is not safe for concurrent
// use.
type Encoder struct {
	e        *C.vp8_enc // C memory: the image header must not live in Go memory
	p        EncoderParams
	duration C.ulong // one frame on the 90 kHz clock
	// released is what NewEncoder gave back of libvpx's token buffer, from
	// releasedAt (tokens.go).
	released   int
	releasedAt uintptr
}

// NewEncoder creates a realtime VP8 encoder.
func NewEncoder(p EncoderParams) (*Encoder, error) { return newEncoder(p, true) }

// newEncoder is NewEncoder; release false keeps libvpx's token buffer as
// libvpx left it (for the test that compares the two).
func newEncoder(p EncoderParams, release bool) (*Encoder, error) {
	p = p.withDefaults()
	switch {
	case p.Width <= 0 || p.Height <= 0 || p.Width > 16383 || p.Height > 16383:
		return nil, fmt.Errorf("vp8: size %dx%d: %w (want 1..16383, VP8's 14-bit sizes)", p.Width, p.Height, ErrBadArg)
	case p.FPS < 1 || p.FPS > 120:
		return nil, fmt.Errorf("vp8: fps %d: %w (want 1..120)", p.FPS, ErrBadArg)
	case p.Bitrate < 10_000 || p.Bitrate > 100_000_000:
		return nil, fmt.Errorf("vp8: bitrate %d: %w (want 10000..100000000 bit/s)", p.Bitrate, ErrBadArg)
	case p.CPUUsed < -16 || p.CPUUsed > 16:
		return nil, fmt.Errorf("vp8: cpu-used %d: %w (want -16..16)", p.CPUUsed, ErrBadArg)
	case p.Threads < 1 || p.Threads > 16:
		return nil, fmt.Errorf("vp8: threads %d: %w (want 1..16)", p.Threads, ErrBadArg)
	case p.KeyframeInterval < 1:
		return nil, fmt.Errorf("vp8: keyframe interval %d: %w", p.KeyframeInterval, ErrBadArg)
	}
	e := (*C.vp8_enc)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vp8_enc{}))))
	if e == nil {
		return nil, fmt.Errorf("vp8: new encoder: %w", ErrMem)
	}
	// A keyframe may take this many percent of a frame's average budget
	// (libwebrtc: half the optimal buffer, 600 ms, in frames; at least 300 %).
	maxIntra := max(300, 600/2*p.FPS/10)
	mallocSetup.Do(func() { C.vp8_malloc_setup() })
	creating.Lock()
	defer creating.Unlock()
	var before []span
	if release {
		before, _ = writableAnon() // without /proc nothing is released
	}
	if rc := C.vp8_enc_init(e, C.int(p.Width), C.int(p.Height), C.int(p.Bitrate/1000), C.int(p.Threads),
		C.int(p.KeyframeInterval), C.int(p.CPUUsed), C.int(maxIntra)); rc != 0 {
		C.free(unsafe.Pointer(e))
		return nil, mapError("new encoder", rc, nil)
	}
	enc := &Encoder{e: e, p: p, duration: C.ulong(ClockRate / p.FPS)}
	if before != nil {
		enc.released, enc.releasedAt = releaseTokenPages(before, p.Width, p.Height)
	}
	runtime.SetFinalizer(enc, (*Encoder).Close)
	return enc, nil
}

// Params returns the encoder's parameters with defaults filled in.
func (enc *Encoder) Params() EncoderParams { return enc.p }

// MaxFrameBytes is a dst size that no frame of a w×h encoder exceeds in
// practice: the raw I420 size plus headroom. (A keyframe at the lowest
// quantizer can approach the raw size, never much beyond it.)
func MaxFrameBytes(w, h int) int { return w*h*3/2 + 64<<10 }

// Encode compresses img (the encoder's size) into dst and returns the
// frame's length and whether it is a keyframe. pts is the capture time on
// the 90 kHz clock and must increase; forceKeyframe asks for a keyframe
// (a PLI or FIR from a receiver). When the frame does not fit dst the
// error wraps ErrBufferTooSmall and the frame is lost (the encoder's state
// moved on: the caller should force a keyframe next).
func (enc *Encoder) Encode(dst []byte, img yuv.I420, pts int64, forceKeyframe bool) (n int, keyframe bool, err error) {
	if enc.e == nil {
		return 0, false, fmt.Errorf("vp8: encode: %w", ErrClosed)
	}
	if img.Width != enc.p.Width || img.Height != enc.p.Height {
		return 0, false, fmt.Errorf("vp8: encode: %w: image %dx%d, encoder %dx%d", ErrBadArg, img.Width, img.Height, enc.p.Width, enc.p.Height)
	}
	if err := img.Check(); err != nil {
		return 0, false, fmt.Errorf("vp8: encode: %w: %w", ErrBadArg, err)
	}
	if len(dst) == 0 {
		return 0, false, fmt.Errorf("vp8: encode: %w: empty dst", ErrBufferTooSmall)
	}
	force := C.int(0)
	if forceKeyframe {
		force = 1
	}
	r := C.vp8_enc_encode(enc.e,
		(*C.uint8_t)(unsafe.Pointer(&img.Y[0])), C.int(img.YStride),
		(*C.uint8_t)(unsafe.Pointer(&img.U[0])), C.int(img.UStride),
		(*C.uint8_t)(unsafe.Pointer(&img.V[0])), C.int(img.VStride),
		C.int64_t(pts), enc.duration, force,
		(*C.uint8_t)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)))
	if r.err != 0 {
		err := mapError("encode", r.err, &enc.e.ctx)
		if r.err == C.VP8_ERR_TOO_SMALL {
			err = fmt.Errorf("%w: dst %d bytes, frame %d", err, len(dst), int(r.need))
		}
		return 0, false, err
	}
	runtime.KeepAlive(enc)
	return int(r.n), r.key != 0, nil
}

// SetBitrate changes the target bitrate (bit/s) from the next frame on,
// e.g. from a receiver's REMB estimate; libvpx re-plans its rate control
// without a keyframe.
func (enc *Encoder) SetBitrate(bps int) error {
	if enc.e == nil {
		return fmt.Errorf("vp8: set bitrate: %w", ErrClosed)
	}
	if bps < 10_000 || bps > 100_000_000 {
		return fmt.Errorf("vp8: set bitrate %d: %w (want 10000..100000000 bit/s)", bps, ErrBadArg)
	}
	if err := mapError("set bitrate", C.vp8_enc_set_bitrate(enc.e, C.int(bps/1000)), &enc.e.ctx); err != nil {
		return err
	}
	enc.p.Bitrate = bps
	return nil
}

// Close frees libvpx's encoder. The encoder must not be used after.
func (enc *Encoder) Close() error {
	if enc.e == nil {
		return nil
	}
	C.vpx_codec_destroy(&enc.e.ctx)
	C.free(unsafe.Pointer(enc.e))
	enc.e = nil
	runtime.SetFinalizer(enc, nil)
	return nil
}
