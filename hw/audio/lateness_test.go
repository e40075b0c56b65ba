package audio

import (
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
)

// TestLateness drives the lateness counters with callback times: a device
// that takes periods in a burst when it starts (or buffers ahead by any
// amount) shows no lateness, a callback held 30 ms shows 30 ms and one
// period late, and the burst that catches up after it counts nothing.
func TestLateness(t *testing.T) {
	const period = 20 * time.Millisecond
	t0 := time.Unix(1000, 0)
	for _, tc := range []struct {
		name       string
		at         []time.Duration // when each 20 ms callback comes, from the first
		worst      time.Duration
		late, seen uint64
	}{
		{"on time", []time.Duration{0, 20, 40, 60, 80}, 0, 0, 5},
		{"a burst at the start", []time.Duration{0, 0, 0, 20, 40, 60}, 0, 0, 6},
		// PulseAudio fills its 2 s buffer at once, then asks a period at a time.
		{"a 2 s prefill", append(make([]time.Duration, 100), 20, 40, 60), 0, 0, 103},
		{"held 30 ms", []time.Duration{0, 20, 40, 90, 90, 100, 120}, 30 * time.Millisecond, 1, 7},
		{"jitter under a period", []time.Duration{0, 20, 45, 60, 85, 100}, 5 * time.Millisecond, 0, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLateness(period)
			for _, ms := range tc.at {
				l.observeAt(t0.Add(ms*time.Millisecond), hw.FrameSamples)
			}
			worst, late, n := l.CallbackLateness()
			if worst != tc.worst || late != tc.late || n != tc.seen {
				t.Fatalf("worst %v, %d late of %d; want %v, %d of %d", worst, late, n, tc.worst, tc.late, tc.seen)
			}
		})
	}
}

func TestLatenessAllocs(t *testing.T) {
	l := newLateness(20 * time.Millisecond)
	if n := testing.AllocsPerRun(100, func() { l.observeAt(time.Now(), hw.FrameSamples) }); n != 0 {
		t.Fatalf("observe allocates %v times", n)
	}
}
