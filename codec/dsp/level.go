// Package dsp holds the small pure signal functions of voipd's audio path:
// audio levels (RFC 6464 -dBov and WebRTC's linear 0..1), a Goertzel tone
// detector, a tone generator and a saturating mixer. They work on 16-bit
// PCM slices the caller owns and never allocate.
package dsp

import "math"

// fullScale is the overload point of 16-bit PCM. RFC 6464 §4 (after ITU-T
// G.100.1) puts 0 dBov at a full-scale square wave, whose RMS equals its
// peak: 32768. A full-scale sine therefore measures about -3 dBov.
const fullScale = 32768.0

// SilenceDBov is the RFC 6464 level of digital silence (-127 dBov).
const SilenceDBov = 127

// RMS returns the root mean square of pcm in sample units (0 for an empty
// frame).
func RMS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s)
		sum += v * v
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

// LevelDBov returns the audio level of a frame as RFC 6464 §4 defines it:
// the RMS level in -dBov, 0 (loudest) to 127 (digital silence), rounded to
// the nearest integer and clamped.
func LevelDBov(pcm []int16) uint8 {
	return RMSToDBov(RMS(pcm))
}

// RMSToDBov converts an RMS in sample units to RFC 6464's 0..127 -dBov.
func RMSToDBov(rms float64) uint8 {
	if rms <= 0 {
		return SilenceDBov
	}
	db := -20 * math.Log10(rms/fullScale)
	switch {
	case db <= 0:
		return 0
	case db >= SilenceDBov:
		return SilenceDBov
	}
	return uint8(math.Round(db))
}

// LevelLinear returns the level of a frame on WebRTC's audioLevel scale
// (webrtc-stats: 0..1 linear, 1.0 = 0 dBov, 0 = silence, 0.5 ≈ -6 dB).
// voipd computes it as RMS/32768, the linear form of the same dBov value
// LevelDBov reports (libwebrtc itself uses a smoothed peak, which reads a
// little higher for speech; a full-scale sine is 0.707 here).
func LevelLinear(pcm []int16) float64 {
	v := RMS(pcm) / fullScale
	if v > 1 {
		return 1
	}
	return v
}

// DBovToLinear converts an RFC 6464 level (0..127 -dBov) to the linear
// 0..1 scale of LevelLinear; 127 (digital silence) maps to 0.
func DBovToLinear(level uint8) float64 {
	if level >= SilenceDBov {
		return 0
	}
	return math.Pow(10, -float64(level)/20)
}
