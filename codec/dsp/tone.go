package dsp

import "math"

// Goertzel returns the power of pcm at freqHz (sampled at sampleRate),
// normalised so that a sine of amplitude A at exactly freqHz gives about
// A*A, whatever the frame length. It evaluates a single DFT term with the
// Goertzel recurrence, for a non-integer bin as well, so tests can tell
// which tone is playing: compare Goertzel(pcm, 440, …) with
// Goertzel(pcm, 660, …). Frequencies closer than about sampleRate/len(pcm)
// are not resolved.
func Goertzel(pcm []int16, freqHz, sampleRate float64) float64 {
	n := len(pcm)
	if n == 0 || sampleRate <= 0 {
		return 0
	}
	w := 2 * math.Pi * freqHz / sampleRate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range pcm {
		s0 := float64(x) + coeff*s1 - s2
		s2 = s1
		s1 = s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	half := float64(n) / 2
	return power / (half * half)
}

// Sine fills dst with a sine of freqHz and the given peak amplitude,
// starting at phase (radians), and returns the phase to continue with, so
// consecutive frames join without a click.
func Sine(dst []int16, freqHz, sampleRate, amplitude, phase float64) float64 {
	step := 2 * math.Pi * freqHz / sampleRate
	for i := range dst {
		dst[i] = int16(amplitude * math.Sin(phase))
		phase += step
		if phase > 2*math.Pi {
			phase -= 2 * math.Pi
		}
	}
	return phase
}
