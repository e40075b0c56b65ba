package session

import (
	"slices"
	"testing"
	"time"
)

func TestSpeakerTrackerHoldsAndDrops(t *testing.T) {
	var tr speakerTracker
	t0 := time.Unix(1000, 0)
	step := func(d time.Duration, levels map[string]float64, want []string, changed bool) {
		t.Helper()
		got, ch := tr.update(t0.Add(d), levels)
		if !slices.Equal(got, want) || ch != changed {
			t.Fatalf("at %v: got %v changed=%v, want %v changed=%v", d, got, ch, want, changed)
		}
	}
	step(0, map[string]float64{"a": 0.3, "b": 0}, []string{"a"}, true)
	step(100*time.Millisecond, map[string]float64{"a": 0.3, "b": 0.5}, []string{"a", "b"}, true)
	// a falls quiet: held for speakHold so the list does not flicker.
	step(300*time.Millisecond, map[string]float64{"a": 0, "b": 0.5}, []string{"a", "b"}, false)
	step(100*time.Millisecond+speakHold+50*time.Millisecond, map[string]float64{"a": 0, "b": 0.5}, []string{"b"}, true)
	// b leaves the room: gone at once.
	step(time.Second, map[string]float64{"a": 0}, nil, true)
}
