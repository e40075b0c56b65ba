//go:build linux

package rawudp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/syscalltrace"
)

func listen(t *testing.T) *Conn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	w, err := Wrap(c)
	if err != nil || w == nil {
		c.Close()
		t.Fatalf("Wrap of an IPv4 socket: %v, %v", w, err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func addrOf(c interface{ LocalAddr() net.Addr }) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

// Datagrams go both ways between two Conns, and between a Conn and a bare
// net.UDPConn, with the sender's address as net reports it.
func TestRoundTrip(t *testing.T) {
	a, b := listen(t), listen(t)
	plain, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	buf := make([]byte, 1500)
	for i, msg := range []string{"one", "", strings.Repeat("x", 1200)} {
		if n, err := a.WriteToAddrPort([]byte(msg), addrOf(b)); err != nil || n != len(msg) {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
		n, from, err := b.ReadFromAddrPort(buf)
		if err != nil || string(buf[:n]) != msg || from != addrOf(a) {
			t.Fatalf("read %d: %q from %v, %v; want %q from %v", i, buf[:n], from, err, msg, addrOf(a))
		}
	}
	// To and from net's own socket (through an IPv4-mapped address too).
	if _, err := a.WriteToAddrPort([]byte("to net"), netip.AddrPortFrom(netip.AddrFrom16(addrOf(plain).Addr().As16()), addrOf(plain).Port())); err != nil {
		t.Fatal(err)
	}
	n, from, err := plain.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "to net" || from != addrOf(a) {
		t.Fatalf("net read %q from %v, %v", buf[:n], from, err)
	}
	if _, err := plain.WriteToUDPAddrPort([]byte("from net"), addrOf(a)); err != nil {
		t.Fatal(err)
	}
	n, from, err = a.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "from net" || from != addrOf(plain) {
		t.Fatalf("read %q from %v, %v", buf[:n], from, err)
	}
}

// A datagram longer than the buffer is cut to it, as net.UDPConn cuts it.
func TestTruncates(t *testing.T) {
	a, b := listen(t), listen(t)
	if _, err := a.WriteToAddrPort([]byte("0123456789"), addrOf(b)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	n, _, err := b.ReadFromAddrPort(buf)
	if err != nil || n != 4 || string(buf) != "0123" {
		t.Fatalf("read %d %q, %v", n, buf[:n], err)
	}
}

// A read waiting for a datagram ends with net.ErrClosed when the socket
// is closed, and with os.ErrDeadlineExceeded at its deadline; a write on a
// closed socket says it is closed; an IPv6 destination is net's to refuse.
func TestErrorsAsNet(t *testing.T) {
	a := listen(t)
	a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, _, err := a.ReadFromAddrPort(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v", err)
	}
	a.SetReadDeadline(time.Time{})
	done := make(chan error)
	go func() {
		_, _, err := a.ReadFromAddrPort(make([]byte, 10))
		done <- err
	}()
	// The read is waiting in the poller (or about to): Close ends it either way.
	runtime.Gosched()
	a.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read across Close: %v", err)
	}
	if _, err := a.WriteToAddrPort([]byte("x"), netip.MustParseAddrPort("127.0.0.1:9")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
	b := listen(t)
	if _, err := b.WriteToAddrPort([]byte("x"), netip.MustParseAddrPort("[::1]:9")); err == nil {
		t.Fatal("an IPv4 socket wrote to an IPv6 address")
	}
}

// Only IPv4 sockets are wrapped; Net's ListenUDP hands out the others as
// net made them.
func TestOnlyIPv4(t *testing.T) {
	n, err := New()
	if err != nil {
		t.Fatal(err)
	}
	c4, err := n.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c4.Close()
	if _, ok := c4.(*Conn); !ok {
		t.Fatalf("udp4 socket is a %T, want *Conn", c4)
	}
	c6, err := n.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer c6.Close()
	if _, ok := c6.(*net.UDPConn); !ok {
		t.Fatalf("udp6 socket is a %T, want *net.UDPConn", c6)
	}
}

// A write and a read allocate nothing.
func TestNoAllocations(t *testing.T) {
	a, b := listen(t), listen(t)
	to := addrOf(b)
	msg, buf := make([]byte, 160), make([]byte, 1500)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := a.WriteToAddrPort(msg, to); err != nil {
			t.Fatal(err)
		}
		if _, _, err := b.ReadFromAddrPort(buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per write and read, want 0", allocs)
	}
}

// The point of the package: the runtime sees no system call in a Conn's
// reads and writes, where it sees one in each of net.UDPConn's (the
// execution trace records a goroutine entering the syscall state).
func TestRuntimeSeesNoSyscall(t *testing.T) {
	a, b := listen(t), listen(t)
	pa, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pa.Close()
	pb, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	const rounds = 50
	msg, buf := make([]byte, 160), make([]byte, 1500)
	raw := func() {
		for range rounds {
			if _, err := a.WriteToAddrPort(msg, addrOf(b)); err != nil {
				t.Error(err)
				return
			}
			if _, _, err := b.ReadFromAddrPort(buf); err != nil {
				t.Error(err)
				return
			}
		}
	}
	std := func() {
		for range rounds {
			if _, err := pa.WriteToUDPAddrPort(msg, addrOf(pb)); err != nil {
				t.Error(err)
				return
			}
			if _, _, err := pb.ReadFromUDPAddrPort(buf); err != nil {
				t.Error(err)
				return
			}
		}
	}
	if got := syscalltrace.Entries(t, raw); got != 0 {
		t.Errorf("%d system calls the runtime saw in %d raw writes and reads, want 0", got, rounds)
	}
	if got := syscalltrace.Entries(t, std); got < 2*rounds {
		t.Errorf("%d system calls the runtime saw in %d of net's writes and reads, want at least %d: the trace does not show them", got, rounds, 2*rounds)
	}
}
