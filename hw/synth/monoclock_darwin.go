package synth

import "golang.org/x/sys/unix"

// sharedClock is the clock Go's runtime reads on macOS:
// mach_absolute_time, which is CLOCK_UPTIME_RAW (macOS's CLOCK_MONOTONIC
// also counts sleep, so it would drift from Go's across one).
const (
	sharedClock     = unix.CLOCK_UPTIME_RAW
	sharedClockName = "CLOCK_UPTIME_RAW"
)
