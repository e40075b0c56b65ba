package audio

import (
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/hw"
)

// lateness measures how late miniaudio's callbacks reach Go. A callback
// runs on miniaudio's own thread, but entering Go can wait for the
// scheduler (up to ~25 ms when every P is busy). Each callback is due one
// device period after the previous one (the samples that one carried, on
// the device clock); a callback's lateness is how much longer the gap was.
// Measured gap by gap, because a device's schedule has no fixed start:
// devices buffer ahead by their own rule (miniaudio's null backend takes
// two periods at once when it starts, PulseAudio asks for its whole 2 s
// buffer), so any callback taken as the reference would make all the
// later ones look early, or late, by that amount. Callbacks that come
// early (a burst catching up) count nothing. Only the callback writes;
// readers load atomics. No allocation.
type lateness struct {
	prev    time.Time     // the previous callback
	prevDur time.Duration // the samples it carried, on the device clock
	worst   atomic.Int64  // ns: the most a callback came after it was due
	late    atomic.Uint64 // callbacks more than one period after they were due
	count   atomic.Uint64
	period  time.Duration
}

// observe is called at the start of each callback carrying n samples.
func (l *lateness) observe(n int) { l.observeAt(time.Now(), n) }

func (l *lateness) observeAt(now time.Time, n int) {
	if l.count.Add(1) > 1 {
		if d := now.Sub(l.prev) - l.prevDur; d > 0 {
			if int64(d) > l.worst.Load() {
				l.worst.Store(int64(d))
			}
			if d > l.period {
				l.late.Add(1)
			}
		}
	}
	l.prev = now
	l.prevDur = time.Duration(n) * time.Second / hw.SampleRate
}

// CallbackLateness reports the worst lateness of a callback since the
// device opened (after the previous one's period had passed: see
// lateness), and how many came more than one period late.
func (l *lateness) CallbackLateness() (worst time.Duration, late, callbacks uint64) {
	return time.Duration(l.worst.Load()), l.late.Load(), l.count.Load()
}
