package journal

import "syscall"

// sendFlags: never block. macOS has no MSG_NOSIGNAL; an unconnected
// datagram send raises no SIGPIPE anyway. (macOS has no journald either:
// JOURNAL_STREAM is never set there, so Logger writes text; this file
// keeps the package, and its tests against a socket of their own, building.)
const sendFlags = syscall.MSG_DONTWAIT

// datagramSocket opens the unbound datagram socket records are sent from,
// closed on exec. macOS has no SOCK_CLOEXEC: the flag is set under
// syscall.ForkLock, so no fork sees the descriptor without it.
func datagramSocket() (int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err != nil {
		return -1, err
	}
	syscall.CloseOnExec(fd)
	return fd, nil
}
