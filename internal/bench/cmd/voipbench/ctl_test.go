package main

import (
	"bufio"
	"encoding/json"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// fakeControl answers each request line with {"result": {"conn": n}} (n
// counts the connections accepted) and closes a connection after one
// answer, as voipd closes one that went silent past control.idleTimeout.
func fakeControl(t *testing.T) (socket string, conns *atomic.Int64) {
	t.Helper()
	socket = filepath.Join(t.TempDir(), "control.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	conns = new(atomic.Int64)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n := conns.Add(1)
			go func() {
				defer c.Close()
				line, err := bufio.NewReader(c).ReadBytes('\n')
				if err != nil {
					return
				}
				var req struct {
					ID int64 `json:"id"`
				}
				json.Unmarshal(line, &req)
				ans, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": map[string]any{"conn": n}})
				c.Write(append(ans, '\n'))
			}()
		}
	}()
	return socket, conns
}

// A request after redialAfter of silence goes out on a new connection, so
// a window longer than voipd's control idle timeout does not break the
// bench's next request; before that, the connection is kept.
func TestCtlRedialsAfterSilence(t *testing.T) {
	socket, conns := fakeControl(t)
	c, err := dialCtl(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if c.redialAfter != ctlRedialAfter || ctlRedialAfter >= 60*time.Second {
		t.Fatalf("redialAfter %v, want the default %v, under voipd's 60 s idle timeout", c.redialAfter, ctlRedialAfter)
	}
	r, err := c.call("status", nil)
	if err != nil || r["conn"] != float64(1) {
		t.Fatalf("first call: %v, %v", r, err)
	}
	// The server closed the connection; a call within redialAfter uses it
	// and fails: the connection is not replaced behind the caller's back.
	if _, err := c.call("status", nil); err == nil {
		t.Fatal("a call on the closed connection within redialAfter succeeded")
	}
	c.last = time.Now().Add(-c.redialAfter) // as if the window had been that long
	r, err = c.call("status", nil)
	if err != nil || r["conn"] != float64(2) {
		t.Fatalf("call after the silence: %v, %v (connections accepted %d)", r, err, conns.Load())
	}
}
