package synth

import (
	"fmt"
	"math"
	"strconv"

	"github.com/voipd/voipd/hw"
)

// Tone is a synthetic microphone playing a sine wave. It implements
// hw.Capture and hw.DropCounter.
type Tone struct {
	p     *pacer
	info  hw.DeviceInfo
	step  float64 // phase increment per sample, radians
	phase float64 // phase of the next sample, radians, kept in [0, 2π)
	amp   float64 // peak, in int16 units
	// The rotation by step: within a frame each sample is the last one
	// turned by it (four multiplications instead of a math.Sin, which was
	// a tenth of a voice call's CPU beyond the codec); each frame starts
	// again from the exact phase, so no error builds up.
	cosStep, sinStep float64
}

// NewTone returns a capture device producing a sine of freqHz at amplitude
// (a fraction of full scale, clamped to [0, 1]). Frames become available at
// the real sample rate from the moment NewTone returns.
func NewTone(freqHz, amplitude float64) hw.Capture {
	amplitude = max(0, min(1, amplitude))
	step := 2 * math.Pi * freqHz / hw.SampleRate
	id := hw.TonePrefix + strconv.FormatFloat(freqHz, 'f', -1, 64)
	return &Tone{
		p: newPacer(),
		info: hw.DeviceInfo{
			ID:        id,
			Name:      fmt.Sprintf("synthetic %s Hz tone", strconv.FormatFloat(freqHz, 'f', -1, 64)),
			Backend:   "synth",
			Synthetic: true,
		},
		step:    step,
		amp:     amplitude * math.MaxInt16,
		cosStep: math.Cos(step),
		sinStep: math.Sin(step),
	}
}

// Read blocks until the next frame is due and fills frame with it. Frames
// missed because the reader was late are skipped (the phase still advances,
// as on a real device) and counted by Dropped.
func (t *Tone) Read(frame []int16) error {
	if err := checkLen("read", t.info.ID, len(frame)); err != nil {
		return err
	}
	_, skipped, err := t.p.wait("read", t.info.ID, len(frame))
	if err != nil {
		return err
	}
	if skipped > 0 {
		t.phase = math.Mod(t.phase+float64(skipped*uint64(len(frame)))*t.step, 2*math.Pi)
	}
	t.fill(frame)
	return nil
}

// fill writes the next len(frame) samples and advances the phase.
func (t *Tone) fill(frame []int16) {
	sin, cos := math.Sincos(t.phase)
	sin, cos = t.amp*sin, t.amp*cos
	for i := range frame {
		frame[i] = int16(math.Round(sin))
		sin, cos = sin*t.cosStep+cos*t.sinStep, cos*t.cosStep-sin*t.sinStep
	}
	t.phase = math.Mod(t.phase+float64(len(frame))*t.step, 2*math.Pi)
}

// Info describes the tone; Synthetic is true.
func (t *Tone) Info() hw.DeviceInfo { return t.info }

// Dropped counts frames skipped because the reader fell behind.
func (t *Tone) Dropped() uint64 { return t.p.dropped.Load() }

// Close unblocks a pending Read; later Reads return an error wrapping
// hw.ErrClosed. Close is idempotent.
func (t *Tone) Close() error {
	t.p.close()
	return nil
}
