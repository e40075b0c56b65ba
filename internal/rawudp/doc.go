// Package rawudp gives pion's ICE agent IPv4 UDP sockets whose reads and
// writes do not tell Go's runtime they are system calls.
//
// Every system call a goroutine makes through package syscall (and every
// cgo call) enters the runtime's syscall state; the first one after the
// process went idle wakes the runtime's monitor thread (sysmon) from its
// deep sleep, which then sleeps once more before it goes back to it: two
// context switches for each time the process wakes. In a voice call the
// packets that arrive wake voipd 50 times a second, and pion's read of
// each (a recvmsg that returns it and one that returns EAGAIN) was the only
// system call of that wakeup (docs/BENCHMARKS.md, issue 19).
//
// A datagram socket set non-blocking never blocks in recvfrom or sendto,
// so there is nothing for the runtime to account: Conn reads and writes
// with syscall.RawSyscall6 inside the socket's RawConn, which waits in
// Go's network poller when the socket has nothing to read (or no room to
// write) exactly as net.UDPConn does, and returns the same errors on a
// closed socket or a passed deadline. It implements pion/ice's
// AddrPortReaderWriter, the path the agent reads and writes through when
// the socket is not a bare *net.UDPConn; nothing in it allocates.
//
// Only IPv4 sockets are wrapped: an IPv6 source address may carry a zone
// (a link-local address's interface), which net resolves from a cache, and
// is left to net.UDPConn. The agent's ECN reading (IP_RECVTOS), which
// pion does only on a bare *net.UDPConn, is given up: voipd's congestion
// control does not use ECN. Systems other than Linux get pion's standard
// network (New returns stdnet's).
package rawudp
