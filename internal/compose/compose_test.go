package compose

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/proto"
)

type countWriter struct{ n atomic.Int64 }

func (w *countWriter) WriteRTP(*rtp.Packet) error { w.n.Add(1); return nil }

// The factory's call sends the microphone as RTP, reports it in the
// daemon's stats shape, and stops sending when muted.
func TestMediaFactoryCall(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f, err := NewMediaFactory(config.Default(), log)
	if err != nil {
		t.Fatal(err)
	}
	w := &countWriter{}
	c, err := f.NewCall(synth.NewTone(440, 0.3), synth.NewSink(), w, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for w.n.Load() < 10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	st := c.Stats()
	if w.n.Load() < 10 || len(st.Outbound) != 1 || st.Outbound[0].Kind != "audio" || st.Outbound[0].PacketsSent == 0 || st.LocalLevel == 0 {
		t.Fatalf("sent %d packets, stats %+v", w.n.Load(), st)
	}
	c.SetMute(proto.MuteConfig{MuteMicrophone: true})
	time.Sleep(100 * time.Millisecond)
	n := w.n.Load()
	time.Sleep(200 * time.Millisecond)
	if w.n.Load() != n {
		t.Fatalf("a muted call still sends (%d → %d)", n, w.n.Load())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if _, err := NewVideoFactory(config.Default(), log, nil); err != nil {
		t.Fatalf("video factory from the defaults: %v", err)
	}
}
