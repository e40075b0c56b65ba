package synth

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// monoClock maps Go's monotonic times to the machine's shared monotonic
// clock (sharedClock: CLOCK_MONOTONIC on Linux, CLOCK_UPTIME_RAW on macOS),
// in nanoseconds: the clock every process on one machine reads alike, so a
// click sent by one process and heard by another can be compared. Go's own
// monotonic reading is relative to its process' start; it runs at the same
// rate (the runtime reads that very clock: CLOCK_MONOTONIC on Linux,
// mach_absolute_time, which CLOCK_UPTIME_RAW is, on macOS), so one pair of
// readings taken together is enough.
type monoClock struct {
	base     time.Time
	baseNano int64
}

func newMonoClock() (monoClock, error) {
	t := time.Now()
	n, err := sharedNow()
	if err != nil {
		return monoClock{}, err
	}
	return monoClock{base: t, baseNano: n}, nil
}

// sharedNow reads sharedClock.
func sharedNow() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(sharedClock, &ts); err != nil {
		return 0, fmt.Errorf("clock_gettime(%s): %w", sharedClockName, err)
	}
	return ts.Nano(), nil
}

// nanos is t on sharedClock, in nanoseconds.
func (c monoClock) nanos(t time.Time) int64 { return c.baseNano + int64(t.Sub(c.base)) }
