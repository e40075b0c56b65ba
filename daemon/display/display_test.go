package display

import (
	"context"
	"encoding/binary"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestForward: two pion viewers of one source get the producer's packets
// in order, rewritten to their own SSRC and payload type; each new viewer
// and each PLI asks the producer for a keyframe.
func TestForward(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startServer(t)
	src := s.Source("alice")
	var keyframes atomic.Int32
	src.OnKeyframeRequest(func() { keyframes.Add(1) })
	stop, done := make(chan struct{}), make(chan struct{})
	// Sequence numbers start near the wrap, which must pass unharmed.
	go producer(src, 0x1234, 65400, stop, done)
	defer func() { close(stop); <-done }()

	var clients []*whepClient
	for range 2 {
		c, code := dialWHEP(ctx, t, s.URL(), "alice")
		if code != http.StatusCreated {
			t.Fatalf("POST /whep/alice: %d, want 201", code)
		}
		clients = append(clients, c)
	}
	for i, c := range clients {
		if err := eventually(ctx, func() bool { return len(c.packets()) >= 300 }); err != nil {
			t.Fatalf("viewer %d: %d packets: %v", i, len(c.packets()), err)
		}
	}
	if err := eventually(ctx, func() bool { return keyframes.Load() >= 2 }); err != nil {
		t.Fatalf("keyframe requests on connect: %d, want one per viewer: %v", keyframes.Load(), err)
	}
	for i, c := range clients {
		pkts := c.packets()
		lost := 0
		for j := 1; j < len(pkts); j++ {
			a, b := pkts[j-1], pkts[j]
			na, nb := binary.BigEndian.Uint32(a.Payload), binary.BigEndian.Uint32(b.Payload)
			dseq := b.SequenceNumber - a.SequenceNumber
			if nb <= na || uint32(dseq) != nb-na {
				t.Fatalf("viewer %d packet %d: seq %d→%d carries number %d→%d: out of order or renumbered", i, j, a.SequenceNumber, b.SequenceNumber, na, nb)
			}
			lost += int(dseq) - 1
		}
		p := pkts[len(pkts)-1]
		if ssrc := c.negotiatedSSRC(); p.SSRC == 0x1234 || p.SSRC != ssrc {
			t.Errorf("viewer %d: SSRC %#x, want the session's own %#x", i, p.SSRC, ssrc)
		}
		if p.PayloadType != 102 {
			t.Errorf("viewer %d: payload type %d, want the offer's 102", i, p.PayloadType)
		}
		if len(p.Payload) != 1000 || p.Extension || len(p.CSRC) != 0 {
			t.Errorf("viewer %d: payload %d bytes, extension %v, CSRC %v", i, len(p.Payload), p.Extension, p.CSRC)
		}
		t.Logf("viewer %d: %d packets, %d lost", i, len(pkts), lost)
	}
	before := keyframes.Load()
	if err := clients[0].sendPLI(); err != nil {
		t.Fatal(err)
	}
	if err := eventually(ctx, func() bool { return keyframes.Load() > before }); err != nil {
		t.Fatalf("a PLI did not become a keyframe request: %v", err)
	}
	if st := src.Stats(); st.Viewers != 2 || st.Packets == 0 {
		t.Errorf("stats %+v, want 2 viewers and packets", st)
	}
}

// TestDelete: DELETE on the Location ends the session (the viewer's track
// ends, the source has no viewer) and a second DELETE is a 404.
func TestDelete(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startServer(t)
	src := s.Source("self")
	stop, done := make(chan struct{}), make(chan struct{})
	go producer(src, 1, 0, stop, done)
	defer func() { close(stop); <-done }()
	c, code := dialWHEP(ctx, t, s.URL(), "self")
	if code != http.StatusCreated {
		t.Fatalf("POST: %d", code)
	}
	select {
	case <-c.gotData:
	case <-ctx.Done():
		t.Fatal("no packet before DELETE")
	}
	if code, _, err := httpDo(ctx, http.MethodDelete, s.URL()+c.location, nil); err != nil || code != http.StatusOK {
		t.Fatalf("DELETE %s: %d, %v; want 200", c.location, code, err)
	}
	if n := src.Stats().Viewers; n != 0 {
		t.Errorf("%d viewers after DELETE", n)
	}
	select {
	case <-c.ended:
	case <-ctx.Done():
		t.Fatal("the viewer's track did not end after DELETE")
	}
	if code, _, _ := httpDo(ctx, http.MethodDelete, s.URL()+c.location, nil); code != http.StatusNotFound {
		t.Errorf("second DELETE: %d, want 404", code)
	}
}

// TestRemoveSource: a member leaving ends its viewers' streams, and the
// source is gone for new viewers.
func TestRemoveSource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startServer(t)
	src := s.Source("bob")
	s.Source("self")
	stop, done := make(chan struct{}), make(chan struct{})
	go producer(src, 1, 0, stop, done)
	defer func() { close(stop); <-done }()
	c, code := dialWHEP(ctx, t, s.URL(), "bob")
	if code != http.StatusCreated {
		t.Fatalf("POST: %d", code)
	}
	select {
	case <-c.gotData:
	case <-ctx.Done():
		t.Fatal("no packet")
	}
	s.RemoveSource("bob")
	select {
	case <-c.ended:
	case <-ctx.Done():
		t.Fatal("the viewer's track did not end when its source was removed")
	}
	if got := s.Sources(); len(got) != 1 || got[0] != "self" {
		t.Errorf("Sources() = %q, want [self]", got)
	}
	if _, code := dialWHEP(ctx, t, s.URL(), "bob"); code != http.StatusNotFound {
		t.Errorf("POST for a removed source: %d, want 404", code)
	}
}

// TestHTTPErrors: unknown sources and sessions are 404s, an offer of the
// wrong type 415, trickle (PATCH) unsupported.
func TestHTTPErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := startServer(t)
	s.Source("alice")
	if _, code := dialWHEP(ctx, t, s.URL(), "nobody"); code != http.StatusNotFound {
		t.Errorf("POST /whep/nobody: %d, want 404", code)
	}
	sdp := map[string]string{"Content-Type": "application/sdp"}
	for _, tc := range []struct {
		method, path string
		hdr          map[string]string
		want         int
	}{
		{http.MethodPost, "/whep/alice", map[string]string{"Content-Type": "text/plain"}, http.StatusUnsupportedMediaType},
		{http.MethodPost, "/whep/alice", sdp, http.StatusBadRequest}, // empty offer
		{http.MethodDelete, "/whep/alice/0123456789abcdef", nil, http.StatusNotFound},
		{http.MethodPatch, "/whep/alice/0123456789abcdef", nil, http.StatusMethodNotAllowed},
		{http.MethodGet, "/whep/alice", nil, http.StatusMethodNotAllowed},
		{http.MethodGet, "/nothing", nil, http.StatusNotFound},
	} {
		code, _, err := httpDo(ctx, tc.method, s.URL()+tc.path, tc.hdr)
		if err != nil || code != tc.want {
			t.Errorf("%s %s: %d, %v; want %d", tc.method, tc.path, code, err, tc.want)
		}
	}
}

// TestListenLoopbackOnly: the display refuses any address reachable from
// the network, naming the config key.
func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.168.1.10:8080", "example.com:80", "[::]:0", "127.0.0.1", "127.0.0.1:http-nope"} {
		if _, err := New(Config{Listen: addr}); err == nil || !strings.Contains(err.Error(), "display.listen") {
			t.Errorf("New(Listen %q): %v, want an error naming display.listen", addr, err)
		}
	}
	for _, addr := range []string{"", "127.0.0.1:0", "[::1]:0", "localhost:0", "127.0.0.2:0"} {
		if _, err := New(Config{Listen: addr}); err != nil {
			t.Errorf("New(Listen %q): %v", addr, err)
		}
	}
}

// TestGuard: loopback origins may call the endpoint cross-origin (the
// kiosk UI on another port); other origins and foreign Host names may not.
func TestGuard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := startServer(t)
	preflight := func(origin string) map[string]string {
		return map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "content-type"}
	}
	for _, origin := range []string{"http://127.0.0.1:8080", "http://localhost:3000", "http://[::1]:5000", "https://localhost"} {
		code, h, err := httpDo(ctx, http.MethodOptions, s.URL()+"/whep/self", preflight(origin))
		if err != nil || code != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != origin ||
			!strings.Contains(h.Get("Access-Control-Allow-Methods"), "DELETE") ||
			!strings.EqualFold(h.Get("Access-Control-Allow-Headers"), "Content-Type") {
			t.Errorf("preflight from %s: %d %v, headers %v", origin, code, err, h)
		}
	}
	code, h, _ := httpDo(ctx, http.MethodGet, s.URL()+"/voip-room.js", map[string]string{"Origin": "http://127.0.0.1:1"})
	if code != http.StatusOK || h.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:1" ||
		!strings.HasPrefix(h.Get("Content-Type"), "text/javascript") {
		t.Errorf("GET /voip-room.js cross-origin: %d, %v", code, h)
	}
	for _, tc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"a network origin", preflight("https://example.com")},
		{"an opaque origin", preflight("null")},
		{"a page rebinding its name to loopback", map[string]string{"Host": "evil.example:80"}},
	} {
		if code, _, _ := httpDo(ctx, http.MethodOptions, s.URL()+"/whep/self", tc.hdr); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, code)
		}
	}
	for path, ct := range map[string]string{"/": "text/html", "/sources": "application/json"} {
		if code, h, _ := httpDo(ctx, http.MethodGet, s.URL()+path, nil); code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), ct) {
			t.Errorf("GET %s: %d, %q", path, code, h.Get("Content-Type"))
		}
	}
}

// TestCloseLeavesNoGoroutines: Close ends every session and the server's
// goroutines; the viewers' pion clients then wind down too.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := runtime.NumGoroutine()
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	src := s.Source("self")
	stop, done := make(chan struct{}), make(chan struct{})
	go producer(src, 1, 0, stop, done)
	var clients []*whepClient
	for range 2 {
		c, code := dialWHEP(ctx, t, s.URL(), "self")
		if code != http.StatusCreated {
			t.Fatalf("POST: %d", code)
		}
		clients = append(clients, c)
		<-c.gotData
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	close(stop)
	<-done
	for _, c := range clients {
		<-c.ended
		c.pc.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	if err := eventually(ctx, func() bool { return runtime.NumGoroutine() <= base }); err != nil {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines, %d before: %v\n%s", runtime.NumGoroutine(), base, err, buf[:runtime.Stack(buf, true)])
	}
}
