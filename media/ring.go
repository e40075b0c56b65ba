package media

import (
	"sync"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/hw"
)

// RingTone is a ring pattern: a sine of Hz for On frames (20 ms each),
// silence for Off frames, repeated.
type RingTone struct {
	Hz      float64
	On, Off int
}

// The listener hears the ringtone (700 Hz, or the configured WAV); the
// caller hears a 450 Hz ringback (China's ringback tone: 1 s on, 4 s off).
var (
	Ringtone = RingTone{Hz: 700, On: 50, Off: 50}
	Ringback = RingTone{Hz: 450, On: 50, Off: 200}
)

// ringAmplitude is a quarter of full scale: loud enough to hear across a
// hall, far from clipping after the playback volume.
const ringAmplitude = 0.25 * 32767

// ringer makes the frames of a ring. fill allocates nothing.
type ringer struct {
	tone  RingTone
	wav   []int16 // when not empty, played in a loop instead of the tone
	pos   int     // the next sample of wav
	n     int     // frames made so far
	phase float64 // the sine's, carried across frames
}

// fill writes the next frame of the ring into frame.
func (r *ringer) fill(frame []int16) {
	switch {
	case len(r.wav) > 0:
		for i := range frame {
			frame[i] = r.wav[r.pos]
			r.pos++
			if r.pos == len(r.wav) {
				r.pos = 0
			}
		}
	case r.n%(r.tone.On+r.tone.Off) < r.tone.On:
		r.phase = dsp.Sine(frame, r.tone.Hz, hw.SampleRate, ringAmplitude, r.phase)
	default:
		clear(frame)
	}
	r.n++
}

// Ring plays tone (or wav, 48 kHz mono, looped, when not empty) on dev at
// vol's playback gain until the returned stop is called. stop waits until
// the last frame was written, so a call's own audio never interleaves with
// the ring, and may be called more than once. A nil dev rings nothing. The
// device paces the ring: Write blocks for a frame; a Write error (the
// device closed) ends it.
func Ring(dev interface{ Write([]int16) error }, tone RingTone, wav []int16, vol *Volume) (stop func()) {
	if dev == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		r := &ringer{tone: tone, wav: wav}
		frame := make([]int16, hw.FrameSamples)
		for {
			select {
			case <-done:
				return
			default:
			}
			r.fill(frame)
			vol.ApplyPlayback(frame)
			if dev.Write(frame) != nil {
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
		})
	}
}
