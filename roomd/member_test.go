package roomd

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voipd/voipd/proto"
)

// A member that does not read is dropped once its queue is full; sending to
// it never blocks.
func TestSlowMemberIsDropped(t *testing.T) {
	m := &member{out: make(chan []byte, 2), quit: make(chan struct{}), log: slog.New(slog.DiscardHandler)}
	for range 3 {
		m.send(&proto.Message{Type: proto.TypePing})
	}
	select {
	case <-m.quit:
	default:
		t.Fatal("member not failed after its queue overflowed")
	}
	var final proto.Message
	if err := json.Unmarshal(m.final, &final); err != nil || final.Type != proto.TypeError || final.Reason != proto.ReasonInternal {
		t.Fatalf("final message %s (%v)", m.final, err)
	}
	// Later sends return at once.
	m.send(&proto.Message{Type: proto.TypePing})
	// The first failure wins.
	m.fail(proto.ReasonShutdown, "x")
	if err := json.Unmarshal(m.final, &final); err != nil || final.Reason != proto.ReasonInternal {
		t.Fatalf("final message replaced: %s", m.final)
	}
}

// Close does not wait for a connection that has not sent its join yet.
func TestCloseWithPendingJoin(t *testing.T) {
	s, err := New(Config{Listen: "127.0.0.1:0", Apps: []App{testApp}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
	case <-time.After(defaultHandshakeTimeout / 2):
		t.Fatal("Close waited for a connection that never joined")
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("no shutdown message: %v", err)
	}
	if m, err := proto.Decode(b); err != nil || m.Reason != proto.ReasonShutdown {
		t.Fatalf("got %s (%v), want error shutdown", b, err)
	}
}
