package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fakeHandler serves a few methods the tests need:
//
//	echo     returns its params
//	slow     blocks until release is closed or ctx ends
//	fast     returns "fast"
//	badparam InvalidParams("x", "must be positive")
//	custom   an *Error with its own Data
//	plain    a plain error (-32603)
//	wrapped  ErrMethodNotFound wrapped
//	boom     panics
//	peer     returns the caller's Peer
//	note     records that it ran (for notifications)
//
// anything else is ErrMethodNotFound.
type fakeHandler struct {
	release chan struct{}
	mu      sync.Mutex
	notes   int
	started chan string
}

func newFakeHandler() *fakeHandler {
	return &fakeHandler{release: make(chan struct{}), started: make(chan string, 16)}
}

func (f *fakeHandler) ServeRPC(ctx context.Context, r *Request) (any, error) {
	select {
	case f.started <- r.Method:
	default:
	}
	switch r.Method {
	case "echo":
		return r.Params, nil
	case "slow":
		select {
		case <-f.release:
			return "slow", nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case "fast":
		return "fast", nil
	case "badparam":
		return nil, InvalidParams("x", "must be positive")
	case "custom":
		return nil, &Error{Code: -1000, Message: "custom:fail timeout", Data: map[string]any{"errCode": -1000, "errMsg": "custom:fail timeout", "reason": "timeout"}}
	case "plain":
		return nil, errors.New("disk on fire")
	case "wrapped":
		return nil, errors.Join(errors.New("nope"), ErrMethodNotFound)
	case "boom":
		panic("boom")
	case "peer":
		return r.Peer, nil
	case "note":
		f.mu.Lock()
		f.notes++
		f.mu.Unlock()
		return nil, nil
	}
	return nil, ErrMethodNotFound
}

// startServer serves h on a socket in a temp dir and closes it at cleanup.
func startServer(t *testing.T, cfg Config, h Handler) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := Listen(path, 0o660, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := NewServer(cfg, h)
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		s.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Serve did not return after Close")
		}
	})
	return s, path
}

// rpcConn is a test client reading answer lines with a deadline.
type rpcConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, path string) *rpcConn {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rpcConn{t: t, conn: conn, r: bufio.NewReaderSize(conn, 1<<20)}
}

func (c *rpcConn) send(line string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.conn, line+"\n"); err != nil {
		c.t.Fatal(err)
	}
}

// recv reads one line and decodes it; it fails the test on EOF or timeout.
func (c *rpcConn) recv() map[string]any {
	c.t.Helper()
	m, err := c.tryRecv()
	if err != nil {
		c.t.Fatalf("reading an answer: %v", err)
	}
	return m
}

func (c *rpcConn) tryRecv() (map[string]any, error) {
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		c.t.Fatalf("answer %q is not JSON: %v", line, err)
	}
	return m, nil
}

// expectEOF reads until the server closes the connection.
func (c *rpcConn) expectEOF() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c.r); err != nil {
		c.t.Fatalf("waiting for the server to close: %v", err)
	}
}

func errorOf(t *testing.T, m map[string]any) (code int, msg string, data map[string]any) {
	t.Helper()
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("not an error answer: %v", m)
	}
	data, _ = e["data"].(map[string]any)
	return int(e["code"].(float64)), e["message"].(string), data
}

func deadline() time.Time { return time.Now().Add(5 * time.Second) }

// testContext is bounded so that no test can hang.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
