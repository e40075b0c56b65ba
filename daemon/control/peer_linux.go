package control

import (
	"os"
	"syscall"
)

// peerCred asks the kernel who connected to fd (SO_PEERCRED).
func peerCred(fd int) (Peer, error) {
	c, err := syscall.GetsockoptUcred(fd, syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	if err != nil {
		return Peer{}, &os.SyscallError{Syscall: "getsockopt SO_PEERCRED", Err: err}
	}
	return peerFromUcred(ucred(*c)), nil
}
