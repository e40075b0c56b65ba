package room_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

func TestJoinErrors(t *testing.T) {
	// A port nobody listens on: bind one, note it, close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := l.Addr().String()
	l.Close()

	// A listener that accepts TCP (the kernel's backlog does) and never
	// answers the WebSocket handshake.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	// A WebSocket server that upgrades, reads the join and never answers.
	mute := silentWS(t)

	srv := startServer(t, nil)

	tests := []struct {
		name   string
		url    string
		p      room.JoinParams
		reason string
	}{
		{"closed port", "ws://" + closedAddr + "/ws", params("a", "g"), "unreachable"},
		{"silent server", "ws://" + silent.Addr().String() + "/ws", params("a", "g"), "timeout"},
		{"silent after upgrade", mute, params("a", "g"), "timeout"},
		{"not a ws url", "http://" + srv.Addr() + "/ws", params("a", "g"), "params"},
		{"bad signature", wsURL(srv), func() room.JoinParams { p := params("a", "g"); p.Signature = "00"; return p }(), "signature"},
		{"stale timestamp", wsURL(srv), func() room.JoinParams {
			s := roomd.Sign(testApp, "a", "g", time.Now().Add(-time.Hour))
			return room.JoinParams{AppID: s.AppID, OpenID: s.OpenID, GroupID: s.GroupID, NonceStr: s.NonceStr,
				TimeStamp: s.TimeStamp, Signature: s.Signature}
		}(), "timestamp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cfg := room.Config{URL: tc.url, JoinTimeout: 500 * time.Millisecond, Logger: testLogger()}
			s, err := room.Join(ctx, cfg, tc.p, newRecorder())
			if err == nil {
				s.Leave(ctx)
				t.Fatal("join succeeded")
			}
			var re *room.Error
			if !errors.As(err, &re) || re.Reason != tc.reason {
				t.Fatalf("err = %v (%T), want reason %s", err, err, tc.reason)
			}
			if re.Error() == "" {
				t.Fatal("empty message")
			}
		})
	}
}

// Cancelling the caller's context during a join returns its error, not a
// room.Error: the daemon maps that to its own code.
func TestJoinCancelled(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	cfg := room.Config{URL: "ws://" + silent.Addr().String() + "/ws", JoinTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() {
		_, err := room.Join(ctx, cfg, params("a", "g"), newRecorder())
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		var re *room.Error
		if errors.As(err, &re) {
			t.Fatalf("err is a room.Error %+v", re)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("join did not return after cancel")
	}
}

func silentWS(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := websocket.Upgrader{}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	return "ws://" + l.Addr().String() + "/ws"
}
