package synth

import (
	"syscall"
	"time"
	"unsafe"
)

// clockMonotonic is Linux's CLOCK_MONOTONIC id.
const clockMonotonic = 1

// monoClock maps Go's monotonic times to CLOCK_MONOTONIC nanoseconds, the
// clock every process on one machine shares, so a click sent by one
// process and heard by another can be compared. Go's own monotonic reading
// is relative to its process' start; it runs at the same rate (the runtime
// reads CLOCK_MONOTONIC), so one pair of readings taken together is enough.
type monoClock struct {
	base     time.Time
	baseNano int64
}

func newMonoClock() monoClock {
	var ts syscall.Timespec
	t := time.Now()
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	return monoClock{base: t, baseNano: ts.Nano()}
}

// nanos is t on CLOCK_MONOTONIC, in nanoseconds.
func (c monoClock) nanos(t time.Time) int64 { return c.baseNano + int64(t.Sub(c.base)) }
