//go:build linux && cgo

package timerslack

/*
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>

#define VOIPD_DEFAULT_NS 1000000L

static long voipd_inherited_ns = -1;
static long voipd_set_ns = -1;
static int voipd_set_errno = 0;

// voipd_timerslack runs before main, so before Go's runtime starts any
// thread: every thread inherits what it sets.
__attribute__((constructor)) static void voipd_timerslack(void) {
	voipd_inherited_ns = (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	long ns = VOIPD_DEFAULT_NS;
	const char *v = getenv("VOIPD_TIMER_SLACK_NS");
	if (v != NULL && v[0] != 0) {
		char *end = NULL;
		errno = 0;
		long x = strtol(v, &end, 10);
		if (errno != 0 || end == v || *end != 0 || x <= 0) {
			voipd_set_errno = EINVAL;
			return;
		}
		ns = x;
	}
	if (prctl(PR_SET_TIMERSLACK, (unsigned long)ns, 0, 0, 0) != 0) {
		voipd_set_errno = errno;
		return;
	}
	voipd_set_ns = ns;
}

static long voipd_timerslack_inherited(void) { return voipd_inherited_ns; }
static long voipd_timerslack_set(void) { return voipd_set_ns; }
static int voipd_timerslack_errno(void) { return voipd_set_errno; }
static long voipd_timerslack_current(void) { return (long)prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0); }
*/
import "C"

import (
	"fmt"
	"syscall"
	"time"
)

// The constructor's default, in C: kept equal to Default by a test.
const cDefault = C.VOIPD_DEFAULT_NS

// Current is the calling thread's slack: the process's, as every thread
// inherits it.
func Current() time.Duration { return time.Duration(C.voipd_timerslack_current()) }

// Inherited is the slack the process started with, before the constructor.
func Inherited() time.Duration { return time.Duration(C.voipd_timerslack_inherited()) }

// Err says why the constructor set nothing (an EnvVar that is not a whole
// number above zero, or the kernel's refusal), nil when it set its value.
func Err() error {
	if C.voipd_timerslack_set() > 0 {
		return nil
	}
	e := syscall.Errno(C.voipd_timerslack_errno())
	if e == syscall.EINVAL {
		return fmt.Errorf("timer slack: %s is not a whole number of nanoseconds above 0, or the kernel refused it: %w", EnvVar, e)
	}
	return fmt.Errorf("timer slack: %w", e)
}
