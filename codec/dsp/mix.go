package dsp

import "math"

// Accumulate adds pcm into acc sample by sample (len(acc) samples at most).
// Summing every member in int32 first and saturating once at the end
// keeps the mix independent of member order, and a loud member cannot
// clip a quiet one that would have cancelled it.
func Accumulate(acc []int32, pcm []int16) {
	n := min(len(acc), len(pcm))
	for i := 0; i < n; i++ {
		acc[i] += int32(pcm[i])
	}
}

// Saturate writes acc to dst, clamping to the int16 range, and zeroes acc
// for the next frame.
func Saturate(dst []int16, acc []int32) {
	n := min(len(acc), len(dst))
	for i := 0; i < n; i++ {
		v := acc[i]
		switch {
		case v > math.MaxInt16:
			v = math.MaxInt16
		case v < math.MinInt16:
			v = math.MinInt16
		}
		dst[i] = int16(v)
		acc[i] = 0
	}
}

// MixSaturate adds src into dst in place with saturation (a two-stream
// shortcut for callers that do not keep an accumulator).
func MixSaturate(dst, src []int16) {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		v := int32(dst[i]) + int32(src[i])
		switch {
		case v > math.MaxInt16:
			v = math.MaxInt16
		case v < math.MinInt16:
			v = math.MinInt16
		}
		dst[i] = int16(v)
	}
}

// Gain scales pcm in place by gain (0..1: an attenuation, so no sample can
// overflow). A gain of 1 leaves pcm untouched and costs nothing.
func Gain(pcm []int16, gain float64) {
	if gain == 1 {
		return
	}
	for i, v := range pcm {
		pcm[i] = int16(float64(v) * gain)
	}
}
