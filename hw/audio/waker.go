package audio

/*
#include "callbacks.h"
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// waker is how a device callback in C wakes a Go goroutine: an fd the
// callback writes after a period (the microphone's after each; the
// speaker's once the ring has the room its writer waits for) and Go's
// poller watches. With an
// eventfd (Linux) the waiter parks in the poller and costs Go no system
// call per wakeup (the counter is never drained; the poller is
// edge-triggered and reports each write); with a pipe the waiter drains it.
type waker struct {
	file   *os.File // the reading end, in Go's poller
	rc     syscall.RawConn
	w      int  // the writing end (the same fd for an eventfd)
	drains bool // a pipe: the waiter reads what the callback wrote

	// Go's own writes (signal) and close: a signal after close (a stall
	// verdict racing Close) must not write into an fd number that was
	// closed and maybe reused by another file.
	mu     sync.Mutex
	closed bool
}

func newWaker(name string) (*waker, error) {
	var fds [2]C.int
	if e := C.voipd_wake_open(&fds[0]); e != 0 {
		return nil, fmt.Errorf("%s wakeup fd: %w", name, syscall.Errno(e))
	}
	k := &waker{file: os.NewFile(uintptr(fds[0]), name+"-wake"), w: int(fds[1]), drains: fds[0] != fds[1]}
	rc, err := k.file.SyscallConn()
	if err != nil {
		k.close()
		return nil, fmt.Errorf("%s wakeup fd: %w", name, err)
	}
	k.rc = rc
	return k, nil
}

// fd is what the C callback writes to.
func (k *waker) fd() C.int { return C.int(k.w) }

// waitFunc makes the function wait parks on: it drains a pipe (an eventfd
// needs nothing) and reports ok(). Made once per device, so a wait
// allocates nothing.
func (k *waker) waitFunc(ok func() bool) func(uintptr) bool {
	var drain [64]byte
	return func(fd uintptr) bool {
		if k.drains {
			for {
				if n, err := syscall.Read(int(fd), drain[:]); n <= 0 || err != nil {
					break
				}
			}
		}
		return ok()
	}
}

// wait blocks until f (from waitFunc) is true, checking it after each
// wakeup.
func (k *waker) wait(f func(uintptr) bool) error { return k.rc.Read(f) }

// signal wakes a waiter from Go (Close, the device stopping); after close
// it does nothing.
func (k *waker) signal() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return
	}
	one := [8]byte{1}
	if k.drains {
		syscall.Write(k.w, one[:1])
		return
	}
	syscall.Write(k.w, one[:])
}

// close closes the fds (a waiter returns an error): only once no callback
// can run, as the callback writes to one.
func (k *waker) close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return
	}
	k.closed = true
	k.file.Close()
	if k.drains {
		syscall.Close(k.w)
	}
}
