package audio

import (
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/hw"
)

// lateness measures how late miniaudio's callbacks reach Go. A callback
// runs on miniaudio's own thread, but entering Go can wait for the
// scheduler (up to ~25 ms when every P is busy). The device clock says when
// each callback is due (the samples handed over so far, from the first
// callback), the monotonic clock when it came; their difference is the
// callback's offset. A device that buffers runs ahead of that schedule by
// a constant (miniaudio's null backend: two periods after its first
// callback, then ±5 ms of its timer's own jitter), so lateness is counted
// from the earliest offset seen so far: how far behind its most punctual
// delivery a callback came. Only the callback writes; readers load
// atomics. No allocation.
type lateness struct {
	start    time.Time     // first callback
	earliest time.Duration // the smallest offset so far
	samples  atomic.Int64  // samples handed over since start
	worst    atomic.Int64  // ns: the most a callback came behind the earliest offset
	late     atomic.Uint64 // callbacks more than one period behind it
	count    atomic.Uint64
	period   time.Duration
}

// observe is called at the start of each callback carrying n samples.
func (l *lateness) observe(n int) { l.observeAt(time.Now(), n) }

func (l *lateness) observeAt(now time.Time, n int) {
	if l.count.Add(1) == 1 {
		l.start = now
		l.samples.Store(int64(n))
		return
	}
	due := time.Duration(l.samples.Load()) * time.Second / hw.SampleRate
	off := now.Sub(l.start) - due
	l.earliest = min(l.earliest, off)
	if d := off - l.earliest; d > 0 {
		if int64(d) > l.worst.Load() {
			l.worst.Store(int64(d))
		}
		if d > l.period {
			l.late.Add(1)
		}
	}
	l.samples.Add(int64(n))
}

// CallbackLateness reports the worst lateness of a callback since the
// device opened (behind the device clock's schedule, counted from the
// earliest offset: see lateness), and how many came more than one period
// late.
func (l *lateness) CallbackLateness() (worst time.Duration, late, callbacks uint64) {
	return time.Duration(l.worst.Load()), l.late.Load(), l.count.Load()
}
