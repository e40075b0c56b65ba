// Package ccalltest holds C functions that internal/ccall's tests call:
// a sum, a deep stack and a busy wait, each in ccall's shape (one
// argument block), with a plain cgo call of each to compare with.
package ccalltest

/*
#include "probes.h"
*/
import "C"

import "unsafe"

// Sum is voipd_ccall_add's argument block: Sum = A + B.
type Sum struct{ A, B, Sum int64 }

// Stack is voipd_ccall_deep's: it uses Bytes of stack and sets Sum to
// Bytes/4096 rounded up.
type Stack struct{ Bytes, Sum uint64 }

// Busy is voipd_ccall_spin's: it spins for NS nanoseconds, counting Loops.
type Busy struct {
	NS    int64
	Loops uint64
}

// The C functions, for ccall.Call (typed so that a check with C faked,
// internal/crosscheck, sees their type).
var (
	Add  unsafe.Pointer = unsafe.Pointer(C.voipd_ccall_add)
	Deep unsafe.Pointer = unsafe.Pointer(C.voipd_ccall_deep)
	Spin unsafe.Pointer = unsafe.Pointer(C.voipd_ccall_spin)
)

// AddCgo runs voipd_ccall_add through a plain cgo call.
func AddCgo(s *Sum) { C.voipd_ccall_add(unsafe.Pointer(s)) }
