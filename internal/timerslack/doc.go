// Package timerslack gives the voipd process the kernel's timer slack it is
// configured for, on every thread, from the first instruction on.
//
// Linux lets the kernel fire a thread's timers (sleeps, poll and epoll
// timeouts, futex waits with a timeout) up to its "timer slack" late, so
// that wakeups due close together are served by one. The default is 50 µs.
// Go's runtime keeps a monitor thread (sysmon) that sleeps 20 µs at a time
// whenever any P is busy or in a cgo call: on a voice call that thread alone
// woke about 1,150 times a second, two thirds of voipd's context switches
// (docs/BENCHMARKS.md). With 1 ms of slack the same call switched about
// 820 times a second instead of 1,780, at the same mouth-to-ear delay.
//
// A thread's slack is inherited by the threads it creates, and the runtime
// creates sysmon before any Go code runs, so the slack is set by a C
// constructor: the dynamic loader runs it on the main thread before Go's
// runtime starts, and every thread of the process (sysmon, the runtime's
// Ms, miniaudio's and libvpx's threads) inherits it. The constructor takes
// [Default], or the value in the environment variable [EnvVar] (which is
// how voipd passes a configured value to itself: see [Plan]). Linking this
// package is what installs the constructor: only cmd/voipd imports it.
package timerslack
