package audio

import (
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/hw"
)

// lateness measures how late miniaudio's callbacks reach Go. A callback
// runs on miniaudio's own thread, but entering Go can wait for the
// scheduler (up to ~25 ms when every P is busy): the device clock says when
// it should have come (the samples it carries), the monotonic clock when it
// did. Only the callback writes; readers load atomics. No allocation.
type lateness struct {
	start   time.Time     // first callback
	samples atomic.Int64  // samples handed over since start
	worst   atomic.Int64  // ns: the latest a callback came, beyond the device clock
	late    atomic.Uint64 // callbacks more than one period late
	count   atomic.Uint64
	period  time.Duration
}

// observe is called at the start of each callback carrying n samples.
func (l *lateness) observe(n int) {
	now := time.Now()
	if l.count.Add(1) == 1 {
		l.start = now
		l.samples.Store(int64(n))
		return
	}
	due := time.Duration(l.samples.Load()) * time.Second / hw.SampleRate
	// The device may deliver early (buffering); only lateness counts.
	if d := now.Sub(l.start) - due; d > 0 {
		if int64(d) > l.worst.Load() {
			l.worst.Store(int64(d))
		}
		if d > l.period {
			l.late.Add(1)
		}
	}
	l.samples.Add(int64(n))
}

// CallbackLateness reports the worst lateness of a callback against the
// device clock since the device opened, and how many came more than one
// period late.
func (l *lateness) CallbackLateness() (worst time.Duration, late, callbacks uint64) {
	return time.Duration(l.worst.Load()), l.late.Load(), l.count.Load()
}
