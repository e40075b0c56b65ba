package roomd

import (
	"encoding/json"
	"log/slog"
	"testing"

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
