package timerslack

import (
	"strconv"
	"time"
)

// Default is the slack the constructor sets when the environment names
// none: runtime.timerSlack's default.
const Default = time.Millisecond

// EnvVar, when set to a whole number of nanoseconds above zero, is the
// slack the constructor sets instead of Default.
const EnvVar = "VOIPD_TIMER_SLACK_NS"

// Plan decides how a configured slack is reached. want is the config's
// value, 0 for "the slack the process inherited"; current is the slack in
// effect, inherited what the process had before the constructor changed
// it, and passed the slack EnvVar named at start (0 when unset).
//
// A thread's slack can only be set for the threads it creates from then
// on, so a value the constructor did not set is reached by executing voipd
// again with EnvVar naming it (the constructor of the new image applies it
// before the runtime starts): reexec is true and target is what to pass.
// A process started with EnvVar set targets what it was passed (its
// inherited slack is the one the image before it set) and never asks to be
// executed again, so a kernel that refuses a value cannot make voipd loop;
// nor does a system with no slack to read.
func Plan(want, current, inherited, passed time.Duration) (target time.Duration, reexec bool) {
	if passed > 0 {
		return passed, false
	}
	target = want
	if want == 0 {
		target = inherited
	}
	if target == current || target <= 0 || current <= 0 {
		return target, false
	}
	return target, true
}

// Passed is the slack EnvVar's value v names: 0 when v is empty or not a
// whole number of nanoseconds above 0 (which the constructor refused: Err).
func Passed(v string) time.Duration {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n)
}

// EnvValue is EnvVar's value for slack d.
func EnvValue(d time.Duration) string {
	return strconv.FormatInt(int64(d), 10)
}
