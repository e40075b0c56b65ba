//go:build !linux

package daemon

import "time"

// timerSlack is 0 where the kernel has no timer slack to read.
func timerSlack() time.Duration { return 0 }
