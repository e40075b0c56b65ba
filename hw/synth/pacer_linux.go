package synth

import (
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdSleeper is a sleeper on a timerfd (CLOCK_MONOTONIC, the clock Go's
// runtime reads) in Go's poller: the waiter parks in the poller like a
// device's reader on its eventfd, and no Go timer is due each period. It
// arms and reads the timer with raw system calls inside the fd's RawConn,
// so the runtime's syscall state is never entered either, and nothing is
// allocated per wait.
type fdSleeper struct {
	file  *os.File
	rc    syscall.RawConn
	clock monoClock
	spec  unix.ItimerSpec // the next expiry, absolute
	errno syscall.Errno   // arm's result
	arm   func(fd uintptr)
	read  func(fd uintptr) bool
}

// newSleeper is an fdSleeper, or a Go timer's sleeper if the kernel gives
// no timerfd (a limit on open files: slower, never wrong).
func newSleeper(done <-chan struct{}) sleeper {
	if s, err := newFDSleeper(); err == nil {
		return s
	}
	return newTimerSleeper(done)
}

func newFDSleeper() (*fdSleeper, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	s := &fdSleeper{file: os.NewFile(uintptr(fd), "synth-pacer")}
	if s.rc, err = s.file.SyscallConn(); err == nil {
		s.clock, err = newMonoClock()
	}
	if err != nil {
		s.file.Close()
		return nil, err
	}
	s.arm = func(fd uintptr) {
		_, _, s.errno = syscall.RawSyscall6(unix.SYS_TIMERFD_SETTIME, fd, unix.TFD_TIMER_ABSTIME,
			uintptr(unsafe.Pointer(&s.spec)), 0, 0, 0)
	}
	var ticks [8]byte
	s.read = func(fd uintptr) bool {
		n, _, e := syscall.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&ticks[0])), 8)
		return e == 0 && n == 8 // EAGAIN: not yet, park in the poller
	}
	return s, nil
}

// until arms the timer for due (re-arming clears an expiry not yet read)
// and waits for it; false once closed.
func (s *fdSleeper) until(due time.Time) bool {
	s.spec.Value = s.clock.nanosTimespec(due)
	if err := s.rc.Control(s.arm); err != nil {
		return false // closed
	}
	if s.errno != 0 {
		// Cannot happen with a valid absolute time; never spin on it.
		time.Sleep(time.Until(due))
		return true
	}
	return s.rc.Read(s.read) == nil
}

func (s *fdSleeper) close() { s.file.Close() }

// nanosTimespec is t on the shared clock as a timespec.
func (c monoClock) nanosTimespec(t time.Time) unix.Timespec { return unix.NsecToTimespec(c.nanos(t)) }
