package daemon

import (
	"syscall"
	"time"
)

// prGetTimerSlack is prctl's PR_GET_TIMERSLACK.
const prGetTimerSlack = 30

// timerSlack is the calling thread's timer slack: every thread of voipd
// inherits one value (internal/timerslack), so the process's.
func timerSlack() time.Duration {
	r, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prGetTimerSlack, 0, 0)
	if errno != 0 {
		return 0
	}
	return time.Duration(r)
}
