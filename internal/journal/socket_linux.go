package journal

import "syscall"

// sendFlags: never block, and no SIGPIPE should the journal go away.
const sendFlags = syscall.MSG_DONTWAIT | syscall.MSG_NOSIGNAL

// datagramSocket opens the unbound datagram socket records are sent from,
// closed on exec.
func datagramSocket() (int, error) {
	return syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
}
