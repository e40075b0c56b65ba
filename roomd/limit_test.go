package roomd

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voipd/voipd/proto"
)

func TestAddrLimiter(t *testing.T) {
	cfg := Config{JoinRate: 2, JoinBurst: 3, MaxPendingPerAddress: 2}
	if err := limitDefaults(&cfg); err != nil {
		t.Fatal(err)
	}
	l := newAddrLimiter(&cfg)
	t0 := time.Unix(1e9, 0)
	var releases []func()
	admit := func(remote string, at time.Duration) (func(), string) {
		release, refused := l.admit(remote, t0.Add(at))
		if refused != nil {
			return nil, refused.reason
		}
		releases = append(releases, release)
		return release, ""
	}
	r1, _ := admit("192.0.2.1:1000", 0)
	r2, _ := admit("192.0.2.1:1001", 0)
	if _, why := admit("192.0.2.1:1002", 0); why != refusedPending {
		t.Fatalf("a third pending socket: refused %q, want %q", why, refusedPending)
	}
	if _, why := admit("192.0.2.2:1000", 0); why != "" {
		t.Fatalf("another address refused (%s) for the first one's sockets", why)
	}
	r1()
	r1() // a second release is nothing
	if l.pending("192.0.2.1:0") != 1 {
		t.Fatalf("pending %d after one release of two, want 1", l.pending("192.0.2.1:0"))
	}
	r3, why := admit("192.0.2.1:1003", 0) // the burst's last join
	if why != "" {
		t.Fatalf("the burst's third join refused: %s", why)
	}
	r2()
	r3()
	if _, why := admit("192.0.2.1:1004", 0); why != refusedRate {
		t.Fatalf("a fourth join at once: refused %q, want %q", why, refusedRate)
	}
	if _, why := admit("192.0.2.1:1005", 500*time.Millisecond); why != "" {
		t.Fatalf("a join once one has refilled (2 a second): refused %s", why)
	}

	// IPv6 counts per /64: another address of the same /64 is the same client.
	admit("[2001:db8:1:2::1]:1000", 0)
	admit("[2001:db8:1:2::2]:1000", 0)
	if _, why := admit("[2001:db8:1:2:ffff::3]:1000", 0); why != refusedPending {
		t.Fatalf("a third socket from the same /64: refused %q, want %q", why, refusedPending)
	}
	if _, why := admit("[2001:db8:1:3::1]:1000", 0); why != "" {
		t.Fatalf("another /64 refused: %s", why)
	}

	// Addresses are forgotten once nothing of theirs is pending and their
	// buckets are full again, not before.
	admit("192.0.2.3:1", 0) // held
	for _, release := range releases[:len(releases)-1] {
		release()
	}
	admit("198.51.100.1:1", time.Hour) // sweeps first
	if n := l.size(); n != 2 {
		t.Fatalf("%d addresses remembered after an hour, want 2 (the one pending, the new one)", n)
	}
}

func TestLimitDefaults(t *testing.T) {
	var cfg Config
	if err := limitDefaults(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.HandshakeTimeout != 10*time.Second || cfg.JoinRate != 5 || cfg.JoinBurst != 20 || cfg.MaxPendingPerAddress != 32 {
		t.Fatalf("defaults %v %v %v %v", cfg.HandshakeTimeout, cfg.JoinRate, cfg.JoinBurst, cfg.MaxPendingPerAddress)
	}
	off := Config{JoinRate: -1, MaxPendingPerAddress: -1}
	limitDefaults(&off)
	l := newAddrLimiter(&off)
	for i := range 1000 {
		if _, refused := l.admit("192.0.2.1:1", time.Unix(1e9, 0)); refused != nil {
			t.Fatalf("limits off: socket %d refused: %s", i, refused.msg)
		}
	}
	if l.size() != 0 {
		t.Fatalf("limits off: %d addresses remembered", l.size())
	}

	// Loopback peers are roomd's own host (a reverse proxy in front of it,
	// the embedded server's daemon): not limited, by default.
	l = newAddrLimiter(&cfg)
	for _, remote := range []string{"127.0.0.1:1", "127.0.0.2:1", "[::1]:1", "[::ffff:127.0.0.1]:1"} {
		for i := range 100 {
			if _, refused := l.admit(remote, time.Unix(1e9, 0)); refused != nil {
				t.Fatalf("loopback %s: socket %d refused: %s", remote, i, refused.msg)
			}
		}
	}
}

// A socket beyond the limits gets 429 with when to try again and which
// limit it met, before any upgrade; a socket that has sent its first
// message is no longer pending.
func TestLimitsAnswer429(t *testing.T) {
	s := startAbused(t, Config{MaxPendingPerAddress: 2}, &lineLog{})
	url := "ws" + strings.TrimPrefix(s.URL(), "http") + "/ws"
	var held []*websocket.Conn
	for range 2 {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	_, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third silent socket: %v (%v), want 429", resp, err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "waiting to join (at most 2)") {
		t.Fatalf("429 with Retry-After %q and body %q: want both to say what to do", resp.Header.Get("Retry-After"), body)
	}
	held[0].WriteJSON(joinMsg(testApp, "a", "g", time.Now()))
	if m := next(t, held[0]); m.Type != proto.TypeJoined {
		t.Fatalf("join: %+v", m)
	}
	c, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatalf("a socket once one of the two has joined: %v", err)
	}
	c.Close()
}

// A WebSocket that sends nothing is told and closed after the handshake
// timeout; a TCP connection that never finishes its request is closed too.
func TestHandshakeTimeouts(t *testing.T) {
	s := startAbused(t, Config{HandshakeTimeout: 200 * time.Millisecond}, &lineLog{})
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL(), "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := next(t, c)
	if m.Type != proto.TypeError || m.Reason != proto.ReasonParams || !strings.Contains(m.Message, "200ms handshake timeout") {
		t.Fatalf("a silent WebSocket got %+v, want error params naming the handshake timeout", m)
	}
	closedByServer(t, c)

	for name, sent := range map[string]string{"nothing": "", "half a request": "GET /ws HTTP/1.1\r\nHost: x\r\n"} {
		tc, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		io.WriteString(tc, sent)
		tc.SetReadDeadline(time.Now().Add(abuseWait))
		if _, err := io.ReadAll(tc); err != nil {
			t.Fatalf("a connection that sent %s: %v, want roomd to close it", name, err)
		}
	}
	if n := s.limits.pending("127.0.0.1:0"); n != 0 {
		t.Fatalf("%d sockets still pending after the timeout", n)
	}
}
