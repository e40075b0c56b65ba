// Package ccall calls short C functions from Go without entering the
// runtime's syscall state.
//
// A cgo call marks its goroutine's P as in a system call for the call's
// length; the first such entry after the process went idle wakes the
// runtime's monitor thread (sysmon) from its deep sleep, and sysmon then
// polls every 20 µs until every P is idle again. In a voice call that is
// most of a period's context switches: a 20 ms Opus frame is encoded,
// decoded and echo-cancelled in a few hundred microseconds, each step a cgo
// call (issue 19).
//
// Call runs the C function on the thread's system stack exactly as cgo
// does (runtime.asmcgocall, the same switch cgo's own calls make) but
// without the syscall bookkeeping around it: the goroutine keeps its P and
// stays "running". That is correct, and cheaper, only for C that
//   - returns within about a millisecond: while it runs the goroutine
//     cannot be preempted, so a stop-the-world (GC) waits for it;
//   - never blocks on anything slower than a short mutex, never sleeps,
//     never does I/O;
//   - never calls back into Go.
//
// Long calls (a VP8 frame, device opening) stay plain cgo calls: there
// the syscall state is what lets the scheduler run other goroutines.
//
// fn is a C function taking one pointer, the address of an argument block
// (C memory, or Go memory the caller keeps alive and unmoved: the heap, or
// the calling goroutine's stack, which cannot move while it runs C).
package ccall

/*
// This package is cgo only so that it can never be linked into a program
// without cgo: there a thread's system stack is Go's 16 KiB, too small for
// C. With cgo it is the thread's own (pthread) stack, as for cgo calls.
*/
import "C"

import (
	"unsafe"
)

// asmcgocall is the runtime's switch to the system stack that every cgo
// call makes (runtime/asm_*.s). Its signature is the runtime's; the tests
// call C through it on every build, so a Go release that changed it fails
// them (and the link) rather than anything at run time.
//
//go:linkname asmcgocall runtime.asmcgocall
//go:noescape
func asmcgocall(fn, arg unsafe.Pointer) int32

// Call runs fn(arg) on the system stack (see the package comment for what
// fn may do).
func Call(fn, arg unsafe.Pointer) {
	asmcgocall(fn, arg)
}
