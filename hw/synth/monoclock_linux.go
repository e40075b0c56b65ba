package synth

import "golang.org/x/sys/unix"

// sharedClock is the clock Go's runtime reads on Linux: CLOCK_MONOTONIC.
const (
	sharedClock     = unix.CLOCK_MONOTONIC
	sharedClockName = "CLOCK_MONOTONIC"
)
