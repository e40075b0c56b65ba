package hw

import (
	"math"
	"strconv"
	"strings"
)

// Synthetic devices stand in where no hardware exists
// (docs/ARCHITECTURE.md, "Devices without hardware") and are chosen in
// configuration by id, never silently. The forms are spelled here once:
// hw/synth builds the devices, daemon/config checks the ids, and status and
// listDevices report them as synthetic.
const (
	TonePrefix    = "tone:"   // "tone:440": a sine microphone
	VoiceID       = "voice"   // a synthetic talking microphone (speech-like syllables: FEC, DTX and VAD behave as with a voice)
	ClickPrefix   = "click:"  // "click:PATH": mouth-to-ear clicks, logged to PATH
	NullSink      = "null"    // a speaker that discards at the device pace
	DetectPrefix  = "detect:" // "detect:PATH": a speaker that logs the clicks it plays
	PatternPrefix = "pattern" // "pattern" or "pattern:NAME": a moving test pattern camera
)

// ParseTone reports whether id names a synthetic tone ("tone:440") and at
// which frequency, strictly between 0 and the Nyquist frequency.
func ParseTone(id string) (freqHz float64, ok bool) {
	s, found := strings.CutPrefix(id, TonePrefix)
	if !found {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f >= SampleRate/2 {
		return 0, false
	}
	return f, true
}

// ParseClick reports whether id names a click source ("click:PATH") and
// the file it logs to.
func ParseClick(id string) (path string, ok bool) { return cutPath(id, ClickPrefix) }

// ParseDetect reports whether id names a click detector ("detect:PATH")
// and the file it logs to.
func ParseDetect(id string) (path string, ok bool) { return cutPath(id, DetectPrefix) }

func cutPath(id, prefix string) (string, bool) {
	path, ok := strings.CutPrefix(id, prefix)
	if !ok || path == "" {
		return "", false
	}
	return path, true
}

// ParsePattern reports whether id names a synthetic camera ("pattern" or
// "pattern:NAME") and with which name ("" for plain "pattern").
func ParsePattern(id string) (name string, ok bool) {
	if id == PatternPrefix {
		return "", true
	}
	if name, ok = strings.CutPrefix(id, PatternPrefix+":"); !ok {
		return "", false
	}
	return name, true
}

// IsSynthetic reports whether id is a well-formed synthetic device id of
// any kind.
func IsSynthetic(id string) bool {
	_, tone := ParseTone(id)
	_, click := ParseClick(id)
	_, detect := ParseDetect(id)
	_, pattern := ParsePattern(id)
	return tone || click || detect || pattern || id == NullSink || id == VoiceID
}
