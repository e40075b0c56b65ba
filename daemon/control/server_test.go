package control

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestErrorAnswers(t *testing.T) {
	_, path := startServer(t, Config{}, newFakeHandler())
	c := dial(t, path)
	tests := []struct {
		name   string
		line   string
		id     any // expected id in the answer (nil = null)
		code   int
		msg    string // substring of the message
		reason string
		field  string
	}{
		{"malformed JSON", `{"jsonrpc":"2.0",`, nil, -32700, "parse error", "params", ""},
		{"not an object", `[1,2]`, nil, -32600, "not a JSON object", "params", ""},
		{"null line", `null`, nil, -32600, "not a JSON object", "params", ""},
		{"object id", `{"jsonrpc":"2.0","id":{},"method":"fast"}`, nil, -32600, "id must be", "params", ""},
		{"wrong version", `{"jsonrpc":"1.0","id":1,"method":"fast"}`, 1.0, -32600, `jsonrpc must be "2.0"`, "params", ""},
		{"no version", `{"id":2,"method":"fast"}`, 2.0, -32600, `jsonrpc must be "2.0"`, "params", ""},
		{"no method", `{"jsonrpc":"2.0","id":"a"}`, "a", -32600, "method must be", "params", ""},
		{"method not a string", `{"jsonrpc":"2.0","id":3,"method":7}`, 3.0, -32600, "method must be", "params", ""},
		{"scalar params", `{"jsonrpc":"2.0","id":4,"method":"fast","params":5}`, 4.0, -32600, "params must be", "params", ""},
		{"invalid request without id", `{"jsonrpc":"2.0"}`, nil, -32600, "method must be", "params", ""},
		{"unknown method", `{"jsonrpc":"2.0","id":5,"method":"frobnicate"}`, 5.0, -32601, "frobnicate:fail method not found", "params", ""},
		{"wrapped not found", `{"jsonrpc":"2.0","id":6,"method":"wrapped"}`, 6.0, -32601, "wrapped:fail method not found", "params", ""},
		{"invalid params", `{"jsonrpc":"2.0","id":7,"method":"badparam","params":{}}`, 7.0, -32602, "badparam:fail invalid params: x: must be positive", "params", "x"},
		{"handler custom error", `{"jsonrpc":"2.0","id":8,"method":"custom"}`, 8.0, -1000, "custom:fail timeout", "timeout", ""},
		{"handler plain error", `{"jsonrpc":"2.0","id":9,"method":"plain"}`, 9.0, -32603, "plain:fail internal error", "internal", ""},
		{"handler panic", `{"jsonrpc":"2.0","id":10,"method":"boom"}`, 10.0, -32603, "boom:fail internal error", "internal", ""},
		{"subscribe without events", `{"jsonrpc":"2.0","id":11,"method":"subscribe","params":{}}`, 11.0, -32602, "subscribe:fail invalid params: events", "params", "events"},
		{"subscribe bad events", `{"jsonrpc":"2.0","id":12,"method":"subscribe","params":{"events":"x"}}`, 12.0, -32602, "invalid params: events", "params", "events"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			c.send(tt.line)
			m := c.recv()
			if m["jsonrpc"] != "2.0" {
				t.Errorf("jsonrpc = %v", m["jsonrpc"])
			}
			if id, ok := m["id"]; !ok || id != tt.id {
				t.Errorf("id = %v (present %v), want %v", id, ok, tt.id)
			}
			code, msg, data := errorOf(t, m)
			if code != tt.code || !strings.Contains(msg, tt.msg) {
				t.Errorf("error = %d %q, want %d containing %q", code, msg, tt.code, tt.msg)
			}
			if data["errCode"] != float64(code) || data["errMsg"] != msg || data["reason"] != tt.reason {
				t.Errorf("data = %v, want errCode %d, errMsg %q, reason %q", data, code, msg, tt.reason)
			}
			if tt.field != "" && data["field"] != tt.field {
				t.Errorf("data.field = %v, want %q", data["field"], tt.field)
			}
		})
	}
	// The connection and the server survived all of that, the panic included.
	c.t = t
	c.send(`{"jsonrpc":"2.0","id":"after","method":"fast"}`)
	if m := c.recv(); m["result"] != "fast" || m["id"] != "after" {
		t.Fatalf("after the errors: %v", m)
	}
}

func TestSuccessAnswer(t *testing.T) {
	_, path := startServer(t, Config{}, newFakeHandler())
	c := dial(t, path)
	tests := []struct {
		line, want string
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":[1,2],"b":"x"}}`, `{"jsonrpc":"2.0","id":1,"result":{"a":[1,2],"b":"x"}}`},
		{`{"jsonrpc":"2.0","id":"s-1","method":"fast"}`, `{"jsonrpc":"2.0","id":"s-1","result":"fast"}`},
		{`{"jsonrpc":"2.0","id":null,"method":"echo"}`, `{"jsonrpc":"2.0","id":null,"result":null}`},
		{"  {\"jsonrpc\":\"2.0\",\"id\":-2.5,\"method\":\"fast\"}\r", `{"jsonrpc":"2.0","id":-2.5,"result":"fast"}`},
		{`{"jsonrpc":"2.0","id":3,"method":"subscribe","params":{"events":["*"]}}`, `{"jsonrpc":"2.0","id":3,"result":{"errCode":0,"errMsg":"subscribe:ok"}}`},
		{`{"jsonrpc":"2.0","id":4,"method":"unsubscribe"}`, `{"jsonrpc":"2.0","id":4,"result":{"errCode":0,"errMsg":"unsubscribe:ok"}}`},
	}
	for _, tt := range tests {
		c.send(tt.line)
		c.conn.SetReadDeadline(deadline())
		got, err := c.r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want+"\n" {
			t.Errorf("%s\n got %s\nwant %s", tt.line, got, tt.want)
		}
	}
}

func TestNotificationGetsNoAnswer(t *testing.T) {
	h := newFakeHandler()
	s, path := startServer(t, Config{}, h)
	c := dial(t, path)
	c.send(`{"jsonrpc":"2.0","method":"note"}`)
	c.send(`{"jsonrpc":"2.0","method":"frobnicate"}`) // unknown, still no answer
	c.send(`{"jsonrpc":"2.0","id":1,"method":"fast"}`)
	if m := c.recv(); m["id"] != 1.0 {
		t.Fatalf("first line = %v, want the answer to id 1", m)
	}
	if err := s.Flush(testContext(t)); err != nil {
		t.Fatal(err)
	}
	// The notification was served: its handler ran before or after "fast";
	// wait for it through the started channel rather than a sleep.
	for h.noteCount() == 0 {
		if m := <-h.started; m == "" {
			t.Fatal("handler channel closed")
		}
	}
	if st := s.Stats(); st.Requests != 3 {
		t.Errorf("Stats.Requests = %d, want 3", st.Requests)
	}
}

func (f *fakeHandler) noteCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notes
}

func TestSlowMethodDoesNotBlockLaterOne(t *testing.T) {
	h := newFakeHandler()
	_, path := startServer(t, Config{}, h)
	c := dial(t, path)
	c.send(`{"jsonrpc":"2.0","id":"slow","method":"slow"}`)
	c.send(`{"jsonrpc":"2.0","id":"fast","method":"fast"}`)
	if m := c.recv(); m["id"] != "fast" {
		t.Fatalf("first answer = %v, want the fast one", m)
	}
	close(h.release)
	if m := c.recv(); m["id"] != "slow" || m["result"] != "slow" {
		t.Fatalf("second answer = %v, want the slow one", m)
	}
}

func TestPeerCredentials(t *testing.T) {
	_, path := startServer(t, Config{}, newFakeHandler())
	c := dial(t, path)
	c.send(`{"jsonrpc":"2.0","id":1,"method":"peer"}`)
	m := c.recv()
	raw, _ := json.Marshal(m["result"])
	var p Peer
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.UID != uint32(os.Getuid()) || p.GID != uint32(os.Getgid()) || p.PID != int32(os.Getpid()) {
		t.Errorf("peer = %+v, want uid %d gid %d pid %d", p, os.Getuid(), os.Getgid(), os.Getpid())
	}
	want, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, g := range p.Groups {
		got = append(got, int(g))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
}

func TestLineLimit(t *testing.T) {
	_, path := startServer(t, Config{}, newFakeHandler()) // the default, 64 KiB
	const limit = 64 << 10
	frame := `{"jsonrpc":"2.0","id":1,"method":"echo","params":{"p":""}}`
	pad := func(n int) string { // a request line of exactly n bytes
		return strings.Replace(frame, `"p":""`, `"p":"`+strings.Repeat("x", n-len(frame))+`"`, 1)
	}

	c := dial(t, path)
	c.send(pad(limit))
	if m := c.recv(); m["result"] == nil {
		t.Fatalf("a line of exactly %d bytes was refused: %v", limit, m)
	}

	c = dial(t, path)
	c.send(pad(limit + 1))
	m := c.recv()
	if code, msg, data := errorOf(t, m); code != -32600 || !strings.Contains(msg, "longer than 65536") || data["reason"] != "params" {
		t.Fatalf("over-long line: %d %q %v", code, msg, data)
	}
	c.expectEOF()
}

func TestMaxClients(t *testing.T) {
	s, path := startServer(t, Config{MaxClients: 2, MaxClientsPerUser: 2, Reserved: -1}, newFakeHandler())
	for range 2 {
		c := dial(t, path)
		c.send(`{"jsonrpc":"2.0","id":1,"method":"fast"}`)
		c.recv() // registered for sure
	}
	c := dial(t, path)
	code, _, data := errorOf(t, c.recv())
	if code != -32000 || data["reason"] != "busy" {
		t.Fatalf("third client got %d %v, want -32000 busy", code, data)
	}
	c.expectEOF()
	if n := s.Stats().Clients; n != 2 {
		t.Errorf("Stats.Clients = %d, want 2", n)
	}
}

func TestHalfClosedClientGetsItsAnswers(t *testing.T) {
	h := newFakeHandler()
	close(h.release)
	_, path := startServer(t, Config{}, h)
	c := dial(t, path)
	c.send(`{"jsonrpc":"2.0","id":1,"method":"slow"}`)
	if err := c.conn.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if m := c.recv(); m["result"] != "slow" {
		t.Fatalf("answer after half-close = %v", m)
	}
	c.expectEOF()
}
