// Package apm is the capture path's audio processing: acoustic echo
// cancellation, noise suppression, automatic gain control and a high-pass
// filter, from WebRTC's audio processing module (the engine browsers use),
// as Debian 12 packages it (libwebrtc-audio-processing 0.3). A hands-free
// panel's microphone hears its own speaker: the canceller takes what is
// played (Render) and removes its echo from what the microphone captured
// (Capture).
//
// The C++ lies behind a small C shim (shim.h: create, render, capture with
// its delay, stats, reset, free) so that the module's 1.x line (AEC3) can
// replace it without touching this side. Frames are 10 ms of 48 kHz mono
// int16 (FrameSamples); Render and Capture take any whole number of them,
// in place and without allocating.
package apm

/*
#cgo pkg-config: webrtc-audio-processing
#cgo CXXFLAGS: -std=c++11 -Wno-deprecated-declarations
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/voipd/voipd/internal/ccall"
)

// The processing frame: 10 ms of 48 kHz mono.
const (
	SampleRate   = 48000
	FrameMs      = 10
	FrameSamples = SampleRate * FrameMs / 1000
)

// Config says which stages run.
type Config struct {
	EchoCancellation bool
	NoiseSuppression bool
	AutoGainControl  bool // adaptive digital gain toward -3 dBFS, with a limiter
	HighPassFilter   bool
}

// Any reports whether any stage runs.
func (c Config) Any() bool {
	return c.EchoCancellation || c.NoiseSuppression || c.AutoGainControl || c.HighPassFilter
}

// Stats is what the canceller currently estimates.
type Stats struct {
	// EchoMetrics: the figures below are measured (the canceller has
	// heard far-end audio).
	EchoMetrics bool
	// ERLE is the echo return loss enhancement (how much of the echo
	// the canceller removes), ERL the room's own loss from the speaker
	// to the microphone, both in dB, recent averages.
	ERLE, ERL float64
	// Delay is the echo delay the canceller finds (its median; -1 when
	// unknown), DelayStd its spread, PoorDelays the share of estimates
	// that hurt it.
	Delay, DelayStd time.Duration
	PoorDelays      float64
	HasEcho         bool // the last captured frame carried echo
}

// ErrFrame is a buffer that is not a whole number of 10 ms frames.
var ErrFrame = errors.New("apm: audio must be a whole number of 10 ms frames (480 samples)")

// Error is the module's error code for a frame it refused.
type Error int

func (e Error) Error() string {
	return fmt.Sprintf("apm: the audio processing module refused a frame (error %d)", int(e))
}

// Processor runs the stages of its Config. Render and Capture may be
// called from different goroutines (the module locks each side); Close
// must come after both stopped.
type Processor struct {
	a   *C.apm
	cfg Config
	mu  sync.Mutex // Close against Stats and Reset
}

// New makes a Processor.
func New(cfg Config) (*Processor, error) {
	var err [128]C.char
	c := C.apm_config{echo: cbool(cfg.EchoCancellation), noise: cbool(cfg.NoiseSuppression),
		gain: cbool(cfg.AutoGainControl), highpass: cbool(cfg.HighPassFilter)}
	a := C.apm_new(SampleRate, c, &err[0], C.int(len(err)))
	if a == nil {
		return nil, fmt.Errorf("apm: %s", C.GoString(&err[0]))
	}
	return &Processor{a: a, cfg: cfg}, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Config is what the Processor runs.
func (p *Processor) Config() Config { return p.cfg }

// Render feeds what is being played (the far end, exactly as handed to
// the speaker), before its echo can reach Capture.
func (p *Processor) Render(pcm []int16) error {
	if len(pcm)%FrameSamples != 0 {
		return ErrFrame
	}
	return p.process(pcm, 0, 1)
}

// Capture processes what the microphone captured, in place. delay is the
// time from a sample's Render to its echo in pcm: what is queued for
// playback plus the capture latency. Under-report rather than over-report
// it: the canceller searches later delays, not earlier ones.
func (p *Processor) Capture(pcm []int16, delay time.Duration) error {
	if len(pcm)%FrameSamples != 0 {
		return ErrFrame
	}
	return p.process(pcm, max(delay.Milliseconds(), 0), 0)
}

// processC is the shim's apm_process, for internal/ccall.
var processC = unsafe.Pointer(C.apm_process)

// process runs pcm's frames through the module in one short call
// (internal/ccall: a frame's processing takes well under a millisecond, and
// as cgo calls, one per 10 ms, they woke the runtime's monitor thread each
// period, issue 19).
func (p *Processor) process(pcm []int16, delayMs int64, render C.int) error {
	if len(pcm) == 0 {
		return nil
	}
	f := C.apm_frames{a: p.a, pcm: (*C.short)(unsafe.Pointer(&pcm[0])), frames: C.int(len(pcm) / FrameSamples),
		delay_ms: C.int(delayMs), render: render}
	ccall.Call(processC, unsafe.Pointer(&f))
	if f.rc != 0 {
		return Error(f.rc)
	}
	return nil
}

// Stats reads the canceller's estimates.
func (p *Processor) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.a == nil {
		return Stats{Delay: -1}
	}
	var s C.apm_stats
	C.apm_stats_get(p.a, &s)
	st := Stats{EchoMetrics: s.has_echo_metrics != 0, HasEcho: s.stream_has_echo != 0,
		ERLE: float64(s.erle_db), ERL: float64(s.erl_db), PoorDelays: float64(s.poor_delays),
		Delay: -1, DelayStd: time.Duration(s.delay_std_ms) * time.Millisecond}
	if s.delay_median_ms >= 0 {
		st.Delay = time.Duration(s.delay_median_ms) * time.Millisecond
	}
	return st
}

// Reset starts the echo canceller afresh: after a device restarted, or a
// burst of underruns broke the timing it had learnt. The noise suppressor
// and the gain control keep their state: started again in the middle of
// speech, the suppressor would take the speech for noise.
func (p *Processor) Reset() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.a == nil {
		return errors.New("apm: closed")
	}
	if C.apm_reset(p.a) != 0 {
		return errors.New("apm: reset failed")
	}
	return nil
}

// Close frees the processor. Render and Capture must have stopped.
func (p *Processor) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.a != nil {
		C.apm_free(p.a)
		p.a = nil
	}
}
