package control

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestFlushWaitsForAnswers(t *testing.T) {
	h := newFakeHandler()
	s, path := startServer(t, Config{}, h)
	c := dial(t, path)
	c.send(`{"jsonrpc":"2.0","id":1,"method":"slow"}`)
	<-h.started // the request is being served

	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Flush(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush with a pending request = %v, want DeadlineExceeded", err)
	}
	close(h.release)
	if err := s.Flush(testContext(t)); err != nil {
		t.Fatal(err)
	}
	// Flush returned, so the answer is already in the socket.
	if m := c.recv(); m["result"] != "slow" {
		t.Fatalf("answer = %v", m)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	h := newFakeHandler()
	path := filepath.Join(t.TempDir(), "c.sock")
	ln, err := Listen(path, 0o660, "")
	if err != nil {
		t.Fatal(err)
	}
	disconnected := make(chan uint64, 8)
	s := NewServer(Config{OnDisconnect: func(id uint64) { disconnected <- id }}, h)
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()

	idle := dial(t, path)
	idle.send(`{"jsonrpc":"2.0","id":1,"method":"fast"}`)
	idle.recv()
	busy := dial(t, path)
	busy.send(`{"jsonrpc":"2.0","id":2,"method":"slow"}`) // pending until its ctx ends
	<-h.started
	<-h.started

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Close = %v", err)
	}
	idle.expectEOF()
	busy.expectEOF()
	for range 2 {
		select {
		case <-disconnected:
		case <-time.After(5 * time.Second):
			t.Fatal("OnDisconnect not called for every client")
		}
	}
	if n := s.Stats().Clients; n != 0 {
		t.Errorf("Clients after Close = %d", n)
	}
	if err := s.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	idle.conn.Close()
	busy.conn.Close()
	waitGoroutines(t, before)
}

func TestServeStopsWithContext(t *testing.T) {
	before := runtime.NumGoroutine()
	path := filepath.Join(t.TempDir(), "c.sock")
	ln, err := Listen(path, 0o660, "")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(Config{}, newFakeHandler())
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	c := dial(t, path)
	c.send(`{"jsonrpc":"2.0","id":1,"method":"fast"}`)
	c.recv()
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return when its context ended")
	}
	c.expectEOF()
	c.conn.Close()
	waitGoroutines(t, before)
}

// waitGoroutines waits (bounded) for the goroutine count to come back to
// what it was; goroutines end asynchronously after the calls that stop them.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	stop := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(stop) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutines: %d before, %d after:\n%s", before, runtime.NumGoroutine(),
				filterStacks(string(buf[:n])))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func filterStacks(all string) string {
	var keep []string
	for _, g := range strings.Split(all, "\n\n") {
		if strings.Contains(g, "daemon/control") {
			keep = append(keep, g)
		}
	}
	return strings.Join(keep, "\n\n")
}
