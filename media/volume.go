package media

import (
	"math"
	"sync/atomic"

	"github.com/voipd/voipd/codec/dsp"
)

// Volume is the device's playback and capture volume (setVolume), 0..1
// linear. The audio pipelines apply it to every frame in place — the
// captured frame after the device gave it, the mix before the speaker
// takes it — and so does Ring. Reads are one atomic load, so it may change
// from any goroutine mid-call; a nil *Volume is unity gain.
type Volume struct {
	playback, capture atomic.Uint64 // math.Float64bits
}

// NewVolume returns unity gain both ways.
func NewVolume() *Volume {
	v := &Volume{}
	v.playback.Store(math.Float64bits(1))
	v.capture.Store(math.Float64bits(1))
	return v
}

// Get returns the playback and capture gains.
func (v *Volume) Get() (playback, capture float64) {
	if v == nil {
		return 1, 1
	}
	return math.Float64frombits(v.playback.Load()), math.Float64frombits(v.capture.Load())
}

// SetPlayback sets the speaker's gain; the caller checked it is 0..1.
func (v *Volume) SetPlayback(g float64) { v.playback.Store(math.Float64bits(g)) }

// SetCapture sets the microphone's gain; the caller checked it is 0..1.
func (v *Volume) SetCapture(g float64) { v.capture.Store(math.Float64bits(g)) }

// ApplyPlayback scales a frame about to be played.
func (v *Volume) ApplyPlayback(frame []int16) {
	if v != nil {
		dsp.Gain(frame, math.Float64frombits(v.playback.Load()))
	}
}

// ApplyCapture scales a frame just captured.
func (v *Volume) ApplyCapture(frame []int16) {
	if v != nil {
		dsp.Gain(frame, math.Float64frombits(v.capture.Load()))
	}
}
