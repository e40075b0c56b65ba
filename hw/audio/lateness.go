package audio

/*
#include "callbacks.h"
*/
import "C"

import (
	"time"

	"github.com/voipd/voipd/hw"
)

// lateness measures how late miniaudio's callbacks run (callbacks.c's
// voipd_late, kept by the C callbacks themselves). Each callback is due
// one device period after the previous one (the samples that one carried,
// on the device clock); a callback's lateness is how much longer the gap
// was. Measured gap by gap, because a device's schedule has no fixed
// start: devices buffer ahead by their own rule (miniaudio's null backend
// takes two periods at once when it starts, PulseAudio asks for its whole
// 2 s buffer), so any callback taken as the reference would make all the
// later ones look early, or late, by that amount. Callbacks that come
// early (a burst catching up) count nothing. Only the callback writes;
// readers load atomics. No allocation.
//
// This Go face of the rule is the tests' way in; the devices read theirs
// through cLateness.
type lateness struct{ c C.voipd_late }

func newLateness(period time.Duration) *lateness {
	l := &lateness{}
	l.c.period_ns = C.int64_t(period)
	return l
}

// observeAt counts a callback carrying n samples that came at now.
func (l *lateness) observeAt(now time.Time, n int) {
	C.voipd_late_observe_at(&l.c, C.int64_t(now.UnixNano()), C.uint64_t(n/hw.Channels))
}

// CallbackLateness reports the worst lateness of a callback, and how many
// came more than one period late, of all callbacks.
func (l *lateness) CallbackLateness() (worst time.Duration, late, callbacks uint64) {
	return cLateness(&l.c)
}
