//go:build linux

package netnstest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// helperEnv names the helper a re-executed test binary runs instead of the
// tests (see TestMain): the programs a test starts inside a namespace are
// this binary, so the tests need nothing but ip and nft.
const helperEnv = "NETNSTEST_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		os.Exit(helper(h, os.Args[1:]))
	}
	os.Exit(m.Run())
}

// helper runs one helper program and returns its exit code:
//
//	ping ADDR          send a UDP datagram to ADDR every 100 ms for 2 s;
//	                   0 at the first reply, 3 when none came
//	echo NETWORK ADDR  listen on ADDR (port 0: any), print "listening
//	                   HOST:PORT", echo what comes until stdin closes
func helper(name string, args []string) int {
	switch {
	case name == "ping" && len(args) == 1:
		c, err := net.Dial("udp", args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		buf := make([]byte, 64)
		for range 20 {
			c.Write([]byte("ping"))
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := c.Read(buf); err == nil {
				return 0
			}
		}
		return 3
	case name == "echo" && len(args) == 2:
		addr, err := echo(args[0], args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("listening %s\n", addr)
		io.Copy(io.Discard, os.Stdin) // until the test closes our stdin
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown helper %s %q\n", name, args)
	return 2
}

// echo serves an echo on network and addr until the process exits, and
// returns the address it listens on.
func echo(network, addr string) (net.Addr, error) {
	if strings.HasPrefix(network, "udp") {
		c, err := net.ListenPacket(network, addr)
		if err != nil {
			return nil, err
		}
		go func() {
			buf := make([]byte, 2048)
			for {
				n, from, err := c.ReadFrom(buf)
				if err != nil {
					return
				}
				c.WriteTo(buf[:n], from)
			}
		}()
		return c.LocalAddr(), nil
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return l.Addr(), nil
}

// startHelper starts the helper name inside ns and returns its first line
// of output; it is stopped at t.Cleanup.
func startHelper(t *testing.T, ns *NS, name string, args ...string) string {
	t.Helper()
	cmd := ns.Command(append([]string{mustExecutable(t)}, args...)...)
	cmd.Env = append(os.Environ(), helperEnv+"="+name)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the helper's cue to exit
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("helper %s %q: %v", name, args, err)
	}
	return strings.TrimSpace(line)
}

// listening returns the address of a helper's "listening ADDR" line.
func listening(t *testing.T, line string) string {
	t.Helper()
	addr, ok := strings.CutPrefix(line, "listening ")
	if !ok {
		t.Fatalf("helper said %q, want listening ADDR", line)
	}
	return addr
}

// udpEcho serves a UDP echo on the host at addr for the test's life.
func udpEcho(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.ListenPacket("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			c.WriteTo(buf[:n], from)
		}
	}()
	return c.LocalAddr().String()
}

// answered sends one datagram on c every 100 ms for 2 s and reports
// whether a reply came: with every packet dropped none can, whatever the
// timing, and on a working veth the first one is answered in microseconds.
func answered(c net.Conn) bool {
	buf := make([]byte, 64)
	for range 20 {
		c.Write([]byte("ping"))
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			return true
		}
	}
	return false
}

// eventually polls cond until it holds, failing the test after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestMadeAndRemoved(t *testing.T) {
	var ns *NS
	t.Run("in use", func(t *testing.T) {
		ns = New(t)
		if out, _ := run([]string{"ip", "netns", "list"}, ""); !strings.Contains(out, ns.Name) {
			t.Errorf("ip netns list lacks %s:\n%s", ns.Name, out)
		}
		if out, err := run([]string{"ip", "-o", "-4", "addr", "show", "dev", ns.HostIf}, ""); err != nil || !strings.Contains(out, ns.HostIP+"/30") {
			t.Errorf("host end: %v\n%s", err, out)
		}
		if out := ns.Run("ip", "-o", "-4", "addr", "show", "dev", ns.NSIf); !strings.Contains(out, ns.NSIP+"/30") {
			t.Errorf("namespace end:\n%s", out)
		}
		ns.Drop(30) // a host table for the cleanup to remove
		if out, err := run([]string{"nft", "list", "table", "inet", ns.hostTable}, ""); err != nil || !strings.Contains(out, "numgen random mod 100 < 30") {
			t.Errorf("host rule: %v\n%s", err, out)
		}
		if out := ns.Run("nft", "list", "table", "inet", nsTable); !strings.Contains(out, fmt.Sprintf("iifname %q", ns.NSIf)) {
			t.Errorf("namespace rule does not match on its veth only:\n%s", out)
		}
	})
	if ns == nil {
		t.FailNow()
	}
	if out, _ := run([]string{"ip", "netns", "list"}, ""); strings.Contains(out, ns.Name) {
		t.Errorf("ip netns list still has %s:\n%s", ns.Name, out)
	}
	if out, err := run([]string{"ip", "link", "show", ns.HostIf}, ""); err == nil {
		t.Errorf("host link %s is left:\n%s", ns.HostIf, out)
	}
	if out, err := run([]string{"nft", "list", "table", "inet", ns.hostTable}, ""); err == nil {
		t.Errorf("host table %s is left:\n%s", ns.hostTable, out)
	}
}

// TestDropBothWays: a process inside reaches a server on the host's end
// and the host reaches one inside; Drop(100) cuts both, Drop(0) restores
// both.
func TestDropBothWays(t *testing.T) {
	ns := New(t)
	hostSrv := udpEcho(t, ns.HostIP+":0")
	nsSrv := listening(t, startHelper(t, ns, "echo", "udp4", ns.NSIP+":0"))
	self := mustExecutable(t)
	fromInside := func() bool {
		cmd := ns.Command(self, hostSrv)
		cmd.Env = append(os.Environ(), helperEnv+"=ping")
		return cmd.Run() == nil
	}
	toInside, err := net.Dial("udp4", nsSrv)
	if err != nil {
		t.Fatal(err)
	}
	defer toInside.Close()

	check := func(want bool) {
		t.Helper()
		if want {
			eventually(t, 30*time.Second, "a process inside reaches the host", fromInside)
			eventually(t, 30*time.Second, "the host reaches inside", func() bool { return answered(toInside) })
			return
		}
		if fromInside() {
			t.Error("a process inside reached the host through Drop(100)")
		}
		if answered(toInside) {
			t.Error("the host reached inside through Drop(100)")
		}
	}
	check(true)
	ns.Drop(100)
	check(false)
	ns.Drop(0)
	check(true)
}

// TestDropUDPOnly: DropUDP(100) loses UDP both ways while TCP connections,
// open and new, work; DropUDP(0) brings UDP back.
func TestDropUDPOnly(t *testing.T) {
	ns := New(t)
	nsUDP := listening(t, startHelper(t, ns, "echo", "udp4", ns.NSIP+":0"))
	nsTCP := listening(t, startHelper(t, ns, "echo", "tcp4", ns.NSIP+":0"))
	toInside, err := net.Dial("udp4", nsUDP)
	if err != nil {
		t.Fatal(err)
	}
	defer toInside.Close()
	tcpRoundTrip := func(what string) {
		t.Helper()
		c, err := net.DialTimeout("tcp4", nsTCP, 10*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4)
		if _, err := io.WriteString(c, "tcp!"); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "tcp!" {
			t.Fatalf("%s: echo %q, %v", what, buf, err)
		}
	}
	eventually(t, 30*time.Second, "UDP reaches inside", func() bool { return answered(toInside) })
	ns.DropUDP(100)
	if answered(toInside) {
		t.Error("UDP reached inside through DropUDP(100)")
	}
	tcpRoundTrip("TCP through DropUDP(100)")
	ns.DropUDP(0)
	eventually(t, 30*time.Second, "UDP reaches inside again", func() bool { return answered(toInside) })
}

func mustExecutable(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// TestPartialLoss: at 50 % on each side, a round trip survives a quarter
// of the time. Of 200 datagrams some come back and some do not (the odds
// of all or none are below 1e-25).
func TestPartialLoss(t *testing.T) {
	ns := New(t)
	srv := udpEcho(t, ns.HostIP+":0")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := ns.DialContext(ctx, "udp4", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	eventually(t, 30*time.Second, "the host's echo answers", func() bool { return answered(c) })
	ns.Drop(50)
	const sent = 200
	for i := range sent {
		fmt.Fprintf(c, "%d", i)
	}
	got := map[string]bool{}
	buf := make([]byte, 64)
	for {
		// A generous quiet period: a reply that is late counts as lost,
		// which the bounds below allow.
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			break
		}
		got[string(buf[:n])] = true
	}
	t.Logf("%d of %d round trips at 50 %% loss each way", len(got), sent)
	if len(got) == 0 || len(got) == sent {
		t.Fatalf("%d of %d round trips: the loss is not random", len(got), sent)
	}
}

// TestDialInside: DialContext reaches a listener on the namespace's own
// loopback, which Drop(100) does not touch.
func TestDialInside(t *testing.T) {
	ns := New(t)
	addr := listening(t, startHelper(t, ns, "echo", "tcp4", "127.0.0.1:0"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	roundTrip := func(c net.Conn, msg string) {
		t.Helper()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(msg))
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != msg {
			t.Fatalf("echo of %q: %q, %v", msg, buf, err)
		}
	}
	c, err := ns.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(c, "before")

	ns.Drop(100)
	roundTrip(c, "during, on the open connection")
	c2, err := ns.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("a new connection during Drop(100): %v", err)
	}
	defer c2.Close()
	roundTrip(c2, "during, on a new connection")

	if _, err := ns.DialContext(ctx, "tcp", "localhost:1"); err == nil || !strings.Contains(err.Error(), "IP address") {
		t.Errorf("dialing a name: %v, want an error asking for an IP address", err)
	}
}
