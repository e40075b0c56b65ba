//go:build linux

package netnstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// DialContext dials addr on network ("tcp", "udp" and their 4/6 forms)
// from inside the namespace, as a process there would: to reach a server
// on the namespace's loopback, or to send through the veth (and its loss)
// from the test process itself. The connection may be used from any
// goroutine, as a socket keeps the namespace it was made in.
//
// The host of addr must be an IP address: a name lookup, and the parallel
// dials Go makes for a name with several addresses, run on other
// goroutines, so on other threads, in the host's namespace.
func (ns *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("netnstest: dial %s: %w", addr, err)
	}
	if net.ParseIP(host) == nil {
		return nil, fmt.Errorf("netnstest: dial %s: the host must be an IP address", addr)
	}
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		// The namespace belongs to a thread, not to the process. This
		// goroutine moves its thread into the namespace and never unlocks
		// it, so the runtime ends the thread with the goroutine instead of
		// handing a thread in the wrong namespace to other goroutines.
		runtime.LockOSThread()
		c, err := ns.dialHere(ctx, network, addr)
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}

// dialHere moves the calling thread into the namespace and dials there.
func (ns *NS) dialHere(ctx context.Context, network, addr string) (net.Conn, error) {
	f, err := os.Open("/var/run/netns/" + ns.Name)
	if err != nil {
		return nil, fmt.Errorf("netnstest: dial %s: %w", addr, err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return nil, fmt.Errorf("netnstest: dial %s: entering %s: %w", addr, ns.Name, err)
	}
	// FallbackDelay < 0: no second, parallel dial (Happy Eyeballs), which
	// would run on another goroutine and thread.
	d := net.Dialer{FallbackDelay: -1}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("netnstest: dial %s in %s: %w", addr, ns.Name, err)
	}
	return c, nil
}
