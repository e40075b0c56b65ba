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
	// a falls quiet at 300 ms: held for speakHold from then, so the list
	// does not flicker.
	step(300*time.Millisecond, map[string]float64{"a": 0, "b": 0.5}, []string{"a", "b"}, false)
	step(300*time.Millisecond+speakHold, map[string]float64{"a": 0, "b": 0.5}, []string{"a", "b"}, false)
	step(300*time.Millisecond+speakHold+time.Millisecond, map[string]float64{"a": 0, "b": 0.5}, []string{"b"}, true)
	// b leaves the room: gone at once.
	step(time.Second, map[string]float64{"a": 0}, nil, true)
}

// The hold of a member that fell quiet runs from the update that saw it
// quiet; nextExpiry says when the first one runs out, and nothing while
// everyone listed is loud.
func TestSpeakerTrackerNextExpiry(t *testing.T) {
	var tr speakerTracker
	t0 := time.Unix(1000, 0)
	tr.update(t0, map[string]float64{"a": 0.3, "b": 0.3})
	if d, ok := tr.nextExpiry(t0); ok {
		t.Fatalf("everyone loud, yet a hold runs out in %v", d)
	}
	tr.update(t0.Add(time.Second), map[string]float64{"a": 0, "b": 0.3})
	d, ok := tr.nextExpiry(t0.Add(time.Second + 100*time.Millisecond))
	if !ok || d != speakHold-100*time.Millisecond+time.Millisecond {
		t.Fatalf("a fell quiet at 1 s: its hold runs out in %v (%v), want %v", d, ok, speakHold-100*time.Millisecond+time.Millisecond)
	}
	got, _ := tr.update(t0.Add(time.Second+100*time.Millisecond+d), map[string]float64{"a": 0, "b": 0.3})
	if !slices.Equal(got, []string{"b"}) {
		t.Fatalf("at the expiry: %v, want [b]", got)
	}
	if _, ok := tr.nextExpiry(t0.Add(2 * time.Second)); ok {
		t.Fatal("a hold still runs after a was dropped")
	}
}
