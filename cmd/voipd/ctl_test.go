package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// ctl is a raw control-socket client for tests: it writes JSON-RPC lines and
// sorts what comes back into answers (by id) and events.
type ctl struct {
	t      testing.TB
	conn   net.Conn
	mu     sync.Mutex
	nextID int
	wait   map[string]chan rpcAnswer
	events chan rpcEvent
	closed chan struct{}
}

type rpcError struct {
	Code    int            `json:"code"`
	Message string         `json:"message"`
	Data    map[string]any `json:"data"`
}

type rpcAnswer struct {
	ID     json.RawMessage `json:"id"`
	Result map[string]any  `json:"result"`
	Error  *rpcError       `json:"error"`
}

type rpcEvent struct {
	Method string         `json:"method"`
	Params map[string]any `json:"params"`
}

func dialCtl(t testing.TB, path string) *ctl {
	t.Helper()
	var conn net.Conn
	var err error
	for i := 0; i < 100; i++ {
		if conn, err = net.Dial("unix", path); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dial control socket %s: %v", path, err)
	}
	c := &ctl{t: t, conn: conn, wait: map[string]chan rpcAnswer{}, events: make(chan rpcEvent, 256), closed: make(chan struct{})}
	go c.read()
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *ctl) read() {
	defer close(c.closed)
	sc := bufio.NewScanner(c.conn)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var probe struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(sc.Bytes(), &probe) != nil {
			continue
		}
		if probe.Method != "" && probe.ID == nil {
			var e rpcEvent
			json.Unmarshal(sc.Bytes(), &e)
			select {
			case c.events <- e:
			default:
			}
			continue
		}
		var a rpcAnswer
		json.Unmarshal(sc.Bytes(), &a)
		c.mu.Lock()
		ch := c.wait[string(a.ID)]
		delete(c.wait, string(a.ID))
		c.mu.Unlock()
		if ch != nil {
			ch <- a
		}
	}
}

// send writes a request and returns the channel its answer arrives on.
func (c *ctl) send(method string, params any) <-chan rpcAnswer {
	c.mu.Lock()
	c.nextID++
	id := fmt.Sprint(c.nextID)
	ch := make(chan rpcAnswer, 1)
	c.wait[id] = ch
	c.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": c.nextID, "method": method, "params": params})
	if _, err := c.conn.Write(append(b, '\n')); err != nil {
		c.t.Fatalf("write %s: %v", method, err)
	}
	return ch
}

// raw writes a line as is.
func (c *ctl) raw(line string) {
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *ctl) await(ch <-chan rpcAnswer, d time.Duration) rpcAnswer {
	c.t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(d):
		c.t.Fatalf("no answer within %v", d)
	}
	return rpcAnswer{}
}

// call sends a request and waits for its answer.
func (c *ctl) call(method string, params any) rpcAnswer {
	c.t.Helper()
	return c.await(c.send(method, params), 30*time.Second)
}

// mustOK calls and fails the test unless the answer is a success.
func (c *ctl) mustOK(method string, params any) map[string]any {
	c.t.Helper()
	a := c.call(method, params)
	if a.Error != nil {
		c.t.Fatalf("%s: error %d %s %v", method, a.Error.Code, a.Error.Message, a.Error.Data)
	}
	if a.Result["errCode"] != 0.0 || a.Result["errMsg"] != method+":ok" {
		c.t.Fatalf("%s: result lacks errCode 0 / errMsg ok: %v", method, a.Result)
	}
	return a.Result
}

// mustFail calls and checks the error's code and reason.
func (c *ctl) mustFail(method string, params any, code int, reason string) rpcAnswer {
	c.t.Helper()
	a := c.call(method, params)
	checkFail(c.t, method, a, code, reason)
	return a
}

func checkFail(t testing.TB, method string, a rpcAnswer, code int, reason string) {
	t.Helper()
	if a.Error == nil {
		t.Fatalf("%s: succeeded (%v), want error %d %s", method, a.Result, code, reason)
	}
	if a.Error.Code != code || a.Error.Data["errCode"] != float64(code) || (reason != "" && a.Error.Data["reason"] != reason) {
		t.Fatalf("%s: got %d %q %v, want %d reason %s", method, a.Error.Code, a.Error.Message, a.Error.Data, code, reason)
	}
	if !strings.HasPrefix(a.Error.Message, method+":fail") && code > -32000 {
		t.Fatalf("%s: message %q lacks %q", method, a.Error.Message, method+":fail")
	}
}

// waitEvent waits for an event whose params satisfy ok.
func (c *ctl) waitEvent(ctx context.Context, name string, ok func(map[string]any) bool) map[string]any {
	c.t.Helper()
	for {
		select {
		case e := <-c.events:
			if e.Method == name && (ok == nil || ok(e.Params)) {
				return e.Params
			}
		case <-ctx.Done():
			c.t.Fatalf("no %s event: %v", name, ctx.Err())
			return nil
		}
	}
}

func strList(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// waitEvents waits until, for every name, some event satisfied its check,
// in whatever order they came.
func (c *ctl) waitEvents(ctx context.Context, want map[string]func(map[string]any) bool) {
	c.t.Helper()
	for len(want) > 0 {
		select {
		case e := <-c.events:
			if ok := want[e.Method]; ok != nil && ok(e.Params) {
				delete(want, e.Method)
			}
		case <-ctx.Done():
			names := make([]string, 0, len(want))
			for n := range want {
				names = append(names, n)
			}
			c.t.Fatalf("no %v events: %v", names, ctx.Err())
		}
	}
}
