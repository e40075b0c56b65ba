//go:build linux

package rawudp

import (
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"golang.org/x/sys/unix"
)

// Net is pion's standard network whose IPv4 UDP sockets are Conns.
type Net struct {
	*stdnet.Net
}

// New returns a Net. Like pion's default it reads the interfaces once:
// make one per PeerConnection (per pion API), as pion makes one per agent.
func New() (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return &Net{Net: n}, nil
}

// ListenUDP listens as net.ListenUDP does; an IPv4 socket comes back as a
// Conn.
func (n *Net) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	w, err := Wrap(c)
	if err != nil {
		c.Close()
		return nil, err
	}
	if w == nil {
		return c, nil
	}
	return w, nil
}

// Conn is an IPv4 *net.UDPConn whose ReadFromAddrPort and WriteToAddrPort
// make raw system calls; everything else is the UDPConn's.
type Conn struct {
	*net.UDPConn
	rc syscall.RawConn

	// One read and one write at a time (the socket's own locks would
	// serialize them anyway): each keeps its arguments and results here
	// for a method value made once, so that a call allocates nothing.
	rmu    sync.Mutex
	rbuf   []byte
	rn     int
	rerr   syscall.Errno
	rsa    unix.RawSockaddrInet4
	rlen   uint32
	readFn func(uintptr) bool

	wmu     sync.Mutex
	wbuf    []byte
	wn      int
	werr    syscall.Errno
	wsa     unix.RawSockaddrInet4
	writeFn func(uintptr) bool
}

// Wrap returns c as a Conn when its socket is IPv4 (AF_INET), nil when it
// is not (c is then to be used as it is).
func Wrap(c *net.UDPConn) (*Conn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	domain, serr := 0, error(nil)
	if err := rc.Control(func(fd uintptr) {
		domain, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_DOMAIN)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, os.NewSyscallError("getsockopt SO_DOMAIN", serr)
	}
	if domain != unix.AF_INET {
		return nil, nil
	}
	w := &Conn{UDPConn: c, rc: rc}
	w.readFn = w.recv
	w.writeFn = w.send
	return w, nil
}

// recv reads one datagram into rbuf: false (wait for the poller) when
// there is none.
func (c *Conn) recv(fd uintptr) bool {
	for {
		c.rlen = unix.SizeofSockaddrInet4
		n, _, e := syscall.RawSyscall6(unix.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(unsafe.SliceData(c.rbuf))), uintptr(len(c.rbuf)),
			unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&c.rsa)), uintptr(unsafe.Pointer(&c.rlen)))
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		c.rn, c.rerr = int(n), e
		return true
	}
}

// send writes wbuf to wsa: false (wait for room) when the socket's buffer
// is full.
func (c *Conn) send(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall6(unix.SYS_SENDTO, fd,
			uintptr(unsafe.Pointer(unsafe.SliceData(c.wbuf))), uintptr(len(c.wbuf)),
			unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&c.wsa)), unix.SizeofSockaddrInet4)
		switch e {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		c.wn, c.werr = int(n), e
		return true
	}
}

// ReadFromAddrPort reads a datagram into b, as net.UDPConn's does.
func (c *Conn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	c.rmu.Lock()
	c.rbuf = b
	err := c.rc.Read(c.readFn)
	n, e, sa := c.rn, c.rerr, c.rsa
	c.rbuf = nil
	c.rmu.Unlock()
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if e != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Source: c.LocalAddr(), Err: os.NewSyscallError("recvfrom", e)}
	}
	return n, netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), portOf(&sa)), nil
}

// WriteToAddrPort writes b to addr, as net.UDPConn's does; an address that
// is not IPv4 is net.UDPConn's to refuse.
func (c *Conn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	ip := addr.Addr().Unmap()
	if !ip.Is4() {
		return c.UDPConn.WriteToUDPAddrPort(b, addr)
	}
	c.wmu.Lock()
	c.wsa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: ip.As4()}
	setPort(&c.wsa, addr.Port())
	c.wbuf = b
	err := c.rc.Write(c.writeFn)
	n, e := c.wn, c.werr
	c.wbuf = nil
	c.wmu.Unlock()
	if err != nil {
		return 0, err
	}
	if e != 0 {
		return 0, &net.OpError{Op: "write", Net: "udp", Source: c.LocalAddr(), Addr: net.UDPAddrFromAddrPort(addr), Err: os.NewSyscallError("sendto", e)}
	}
	return n, nil
}

// ReadFromUDPAddrPort is ReadFromAddrPort, under net.UDPConn's name.
func (c *Conn) ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error) {
	return c.ReadFromAddrPort(b)
}

// WriteToUDPAddrPort is WriteToAddrPort, under net.UDPConn's name.
func (c *Conn) WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.WriteToAddrPort(b, addr)
}

// The port of a sockaddr_in is in network byte order.
func portOf(sa *unix.RawSockaddrInet4) uint16 {
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	return uint16(p[0])<<8 | uint16(p[1])
}

func setPort(sa *unix.RawSockaddrInet4, port uint16) {
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(port>>8), byte(port)
}
