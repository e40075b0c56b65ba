//go:build !linux || !cgo

package timerslack

import (
	"errors"
	"time"
)

// errUnsupported: timer slack is a Linux feature (macOS coalesces timers
// by itself).
var errUnsupported = errors.New("timer slack: not supported on this system")

// Current is 0: there is no slack to read.
func Current() time.Duration { return 0 }

// Inherited is 0: there is no slack to read.
func Inherited() time.Duration { return 0 }

// Err says the system has no timer slack.
func Err() error { return errUnsupported }
