package control

import (
	"os"

	"golang.org/x/sys/unix"
)

// peerCred asks the kernel who connected to fd: the credentials
// (LOCAL_PEERCRED: uid, effective gid, supplementary groups) and the pid
// (LOCAL_PEERPID), both as they were at connect time.
func peerCred(fd int) (Peer, error) {
	x, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return Peer{}, &os.SyscallError{Syscall: "getsockopt LOCAL_PEERCRED", Err: err}
	}
	pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	if err != nil {
		return Peer{}, &os.SyscallError{Syscall: "getsockopt LOCAL_PEERPID", Err: err}
	}
	return peerFromXucred(xucred(*x), int32(pid))
}
