package control

import (
	"testing"
)

// eventsThenPing publishes events, then asks a request, and returns the event
// names the client received before the answer: answers and events share one
// ordered stream, so the answer marks the end.
func eventsThenPing(t *testing.T, s *Server, c *rpcConn, events ...string) []string {
	t.Helper()
	for _, e := range events {
		s.Publish(e, map[string]any{"openIdList": []string{"a"}})
	}
	c.send(`{"jsonrpc":"2.0","id":"ping","method":"fast"}`)
	var got []string
	for {
		m := c.recv()
		if m["id"] == "ping" {
			return got
		}
		if _, hasID := m["id"]; hasID || m["jsonrpc"] != "2.0" {
			t.Fatalf("unexpected line %v", m)
		}
		if p, ok := m["params"].(map[string]any); !ok || p["openIdList"] == nil {
			t.Fatalf("event params = %v", m["params"])
		}
		got = append(got, m["method"].(string))
	}
}

func TestSubscribeUnsubscribe(t *testing.T) {
	s, path := startServer(t, Config{}, newFakeHandler())
	c := dial(t, path)
	steps := []struct {
		line string // a subscribe or unsubscribe request, or "" for none
		want []string
	}{
		{"", nil}, // not subscribed: nothing
		{`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"events":["a","c"]}}`, []string{"a", "c"}},
		{`{"jsonrpc":"2.0","id":2,"method":"unsubscribe","params":{"events":["a"]}}`, []string{"c"}},
		{`{"jsonrpc":"2.0","id":3,"method":"subscribe","params":{"events":["*"]}}`, []string{"a", "b", "c"}},
		{`{"jsonrpc":"2.0","id":4,"method":"unsubscribe"}`, nil},
	}
	for i, st := range steps {
		if st.line != "" {
			c.send(st.line)
			if m := c.recv(); m["result"] == nil {
				t.Fatalf("step %d: %v", i, m)
			}
		}
		got := eventsThenPing(t, s, c, "a", "b", "c")
		if len(got) != len(st.want) {
			t.Fatalf("step %d: events %v, want %v", i, got, st.want)
		}
		for j := range got {
			if got[j] != st.want[j] {
				t.Fatalf("step %d: events %v, want %v", i, got, st.want)
			}
		}
	}
}

func TestSubscriberThatDoesNotReadIsDropped(t *testing.T) {
	s, path := startServer(t, Config{EventQueue: 8}, newFakeHandler())
	stuck := dial(t, path)
	stuck.send(`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"events":["*"]}}`)
	stuck.recv()
	// From here on "stuck" never reads: the kernel's socket buffer fills,
	// then its writer blocks, then its queue of 8 fills. Publish must keep
	// returning throughout; the test's bound is the loop count, not a clock.
	payload := map[string]string{"pad": string(make([]byte, 512))}
	published := 0
	for s.Stats().DroppedSubscribers == 0 {
		if published == 1_000_000 {
			t.Fatalf("not dropped after %d events", published)
		}
		s.Publish("onVoIPChatSpeakersChanged", payload)
		published++
	}
	if n := s.Stats().DroppedSubscribers; n != 1 {
		t.Fatalf("DroppedSubscribers = %d, want 1", n)
	}
	// Its connection is closed: after what the kernel buffered, EOF.
	stuck.conn.SetReadDeadline(deadline())
	for {
		if _, err := stuck.tryRecv(); err != nil {
			break
		}
	}
	// Another client is served and gets events as before.
	other := dial(t, path)
	other.send(`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"events":["x"]}}`)
	other.recv()
	if got := eventsThenPing(t, s, other, "x"); len(got) != 1 {
		t.Fatalf("other client got %v", got)
	}
	if n := s.Stats().DroppedSubscribers; n != 1 {
		t.Errorf("DroppedSubscribers = %d after, want 1", n)
	}
}
