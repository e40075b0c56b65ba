package control

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// A third connection of one uid beyond MaxClientsPerUser is refused with
// -32000, a message naming the uid and the key, and counted; the two it
// has keep working.
func TestPerUserLimit(t *testing.T) {
	s, path := startServer(t, Config{MaxClients: 8, MaxClientsPerUser: 2}, newFakeHandler())
	var kept []*rpcConn
	for range 2 {
		c := dial(t, path)
		c.send(`{"jsonrpc":"2.0","id":1,"method":"fast"}`)
		c.recv()
		kept = append(kept, c)
	}
	c := dial(t, path)
	code, msg, data := errorOf(t, c.recv())
	if code != CodeBusy || data["reason"] != "busy" || !strings.Contains(msg, "uid") || !strings.Contains(msg, "control.maxClientsPerUser 2") {
		t.Fatalf("third client of one uid got %d %q %v", code, msg, data)
	}
	c.expectEOF()
	for _, k := range kept {
		k.send(`{"jsonrpc":"2.0","id":2,"method":"fast"}`)
		if m := k.recv(); m["result"] != "fast" {
			t.Fatalf("a kept client: %v", m)
		}
	}
	if st := s.Stats(); st.Refused != 1 || st.Clients != 2 {
		t.Errorf("stats %+v, want 1 refused and 2 clients", st)
	}
}

// admitLocked's rules, with peers this test cannot be (another uid, not
// root): each uid's own limit, the total, and the reserve that only root
// and trusted peers may take.
func TestAdmitRules(t *testing.T) {
	trustedUID := uint32(1001)
	s := NewServer(Config{MaxClients: 8, MaxClientsPerUser: 4, Reserved: 2,
		Trusted: func(p Peer) bool { return p.UID == trustedUID }}, newFakeHandler())
	fill := func(perUID map[uint32]int) {
		clear(s.conns)
		clear(s.perUID)
		for uid, n := range perUID {
			s.perUID[uid] = n
			for range n {
				s.conns[&conn{peer: Peer{UID: uid}}] = struct{}{}
			}
		}
	}
	for _, tc := range []struct {
		name   string
		perUID map[uint32]int
		peer   uint32
		want   string // "" admitted, else a part of the refusal
	}{
		{"first of a user", nil, 1000, ""},
		{"a user at its limit", map[uint32]int{1000: 4}, 1000, "of uid 1000"},
		{"another user beside a full one", map[uint32]int{1000: 4}, 1002, ""},
		{"an untrusted user when only the reserve is left", map[uint32]int{1000: 4, 1002: 2}, 1003, "kept for root"},
		{"root takes the reserve", map[uint32]int{1000: 4, 1002: 2}, 0, ""},
		{"a trusted user takes the reserve", map[uint32]int{1000: 4, 1002: 2}, trustedUID, ""},
		{"nobody beyond the total", map[uint32]int{1000: 4, 1002: 2, 0: 2}, 0, "control.maxClients 8"},
	} {
		fill(tc.perUID)
		got := s.admitLocked(&Peer{UID: tc.peer})
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: admit = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// A client that begins a line and does not end it within LineTimeout gets
// -32600 saying so, and is closed; one that ends its lines is not.
func TestLineTimeout(t *testing.T) {
	s, path := startServer(t, Config{LineTimeout: 300 * time.Millisecond}, newFakeHandler())
	c := dial(t, path)
	if _, err := c.conn.Write([]byte(`{"jsonrpc":"2.0",`)); err != nil {
		t.Fatal(err)
	}
	code, msg, _ := errorOf(t, c.recv())
	if code != CodeInvalidRequest || !strings.Contains(msg, "not ended within 300ms") {
		t.Fatalf("a line left unended got %d %q", code, msg)
	}
	c.expectEOF()
	if st := s.Stats(); st.TimedOut != 1 {
		t.Errorf("TimedOut = %d, want 1", st.TimedOut)
	}
}

// A slow drip (a byte at a time, never a newline) is closed LineTimeout
// after its line began, however often bytes come.
func TestSlowDripClosed(t *testing.T) {
	_, path := startServer(t, Config{LineTimeout: 300 * time.Millisecond}, newFakeHandler())
	c := dial(t, path)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 { // 10 s of drip at most
			if _, err := c.conn.Write([]byte(" ")); err != nil {
				return // closed: what the test waits for
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	code, _, _ := errorOf(t, c.recv())
	if code != CodeInvalidRequest {
		t.Fatalf("the drip got %d, want -32600", code)
	}
	c.expectEOF()
	<-done
}

// An idle client (nothing sent, nothing subscribed) is closed after
// IdleTimeout; a subscriber, or a client whose request is still running,
// is not, and the latter's idle clock starts when its answer is written.
func TestIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	h := newFakeHandler()
	s, path := startServer(t, Config{IdleTimeout: idle}, h)

	silent := dial(t, path)
	sub := dial(t, path)
	sub.send(`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"events":["*"]}}`)
	sub.recv()
	busy := dial(t, path)
	busy.send(`{"jsonrpc":"2.0","id":1,"method":"slow"}`)
	<-h.started

	silent.expectEOF()
	time.Sleep(3 * idle) // well past the idle timeout of the others
	s.Publish("onTest", map[string]any{"n": 1})
	if m := sub.recv(); m["method"] != "onTest" {
		t.Fatalf("the subscriber got %v, want the event", m)
	}
	close(h.release)
	if m := busy.recv(); m["result"] != "slow" {
		t.Fatalf("the busy client got %v, want its answer", m)
	}
	busy.expectEOF() // idle from its answer on
	sub.send(`{"jsonrpc":"2.0","id":2,"method":"fast"}`)
	if m := sub.recv(); m["result"] != "fast" {
		t.Fatalf("the subscriber after the others closed: %v", m)
	}
	if st := s.Stats(); st.TimedOut != 2 {
		t.Errorf("TimedOut = %d, want 2 (the silent and the busy client)", st.TimedOut)
	}
}

// subscribe and unsubscribe refuse a name that is not an event (a typo),
// naming it; "*" and the known names pass.
func TestUnknownEventRefused(t *testing.T) {
	_, path := startServer(t, Config{Events: []string{"onVoIPChatMembersChanged"}}, newFakeHandler())
	c := dial(t, path)
	for _, method := range []string{"subscribe", "unsubscribe"} {
		c.send(`{"jsonrpc":"2.0","id":1,"method":"` + method + `","params":{"events":["onVoIPChatMembersChanged","onVoipChatMembersChanged"]}}`)
		code, msg, data := errorOf(t, c.recv())
		if code != CodeInvalidParams || !strings.Contains(msg, `"onVoipChatMembersChanged"`) || data["field"] != "events" {
			t.Fatalf("%s of a typo: %d %q %v", method, code, msg, data)
		}
	}
	c.send(`{"jsonrpc":"2.0","id":2,"method":"subscribe","params":{"events":["onVoIPChatMembersChanged","*"]}}`)
	if m := c.recv(); m["result"] == nil {
		t.Fatalf("known names refused: %v", m)
	}
}

// A burst of refusals writes one log line at once and one with the count
// of the rest, not a line each.
func TestRefusalsLoggedWithACount(t *testing.T) {
	logs := &lineCounter{}
	s, path := startServer(t, Config{MaxClients: 2, MaxClientsPerUser: 1, Logger: slog.New(logs)}, newFakeHandler())
	c := dial(t, path)
	c.send(`{"jsonrpc":"2.0","id":1,"method":"fast"}`)
	c.recv()
	for range 50 {
		r := dial(t, path)
		r.recv()
		r.expectEOF()
	}
	s.Close() // writes what is pending
	lines := logs.lines("control: refused")
	if len(lines) != 2 || !strings.Contains(lines[1], "count=49") {
		t.Fatalf("refusal log lines: %q, want the first and one with count=49", lines)
	}
	if st := s.Stats(); st.Refused != 50 {
		t.Errorf("Refused = %d, want 50", st.Refused)
	}
}

// lineCounter is a slog.Handler keeping each record as text.
type lineCounter struct {
	mu  sync.Mutex
	all []string
}

func (l *lineCounter) Enabled(context.Context, slog.Level) bool { return true }
func (l *lineCounter) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *lineCounter) WithGroup(string) slog.Handler            { return l }
func (l *lineCounter) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.Key + "=" + a.Value.String())
		return true
	})
	l.mu.Lock()
	l.all = append(l.all, b.String())
	l.mu.Unlock()
	return nil
}

func (l *lineCounter) lines(prefix string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.all {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}
