package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/proto"
)

// fakeDaemon answers like voipd would: results carry errCode/errMsg, a
// failure is an *control.Error with the seed's data.
type fakeDaemon struct{}

func (fakeDaemon) ServeRPC(ctx context.Context, r *control.Request) (any, error) {
	switch r.Method {
	case "status":
		return map[string]any{"errCode": 0, "errMsg": "status:ok", "state": "idle", "room": nil}, nil
	case "echo":
		return r.Params, nil
	case "joinVoIPChat":
		return nil, &control.Error{Code: -1000, Message: "joinVoIPChat:fail timeout",
			Data: map[string]any{"errCode": -1000, "errMsg": "joinVoIPChat:fail timeout", "reason": "timeout"}}
	case "hang":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, control.ErrMethodNotFound
}

func startDaemon(t *testing.T) (*control.Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := control.Listen(path, 0o660, "")
	if err != nil {
		t.Fatal(err)
	}
	s := control.NewServer(control.Config{Logger: slog.New(slog.DiscardHandler)}, fakeDaemon{})
	go s.Serve(context.Background(), ln)
	t.Cleanup(func() { s.Close() })
	return s, path
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestCall(t *testing.T) {
	_, path := startDaemon(t)
	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string // exact stdout; substring of stderr
	}{
		{"result", []string{"-socket", path, "status"}, 0, `{"errCode":0,"errMsg":"status:ok","room":null,"state":"idle"}` + "\n", ""},
		{"params compacted", []string{"-socket", path, "echo", "{ \"a\" : [1, 2] }"}, 0, `{"a":[1,2]}` + "\n", ""},
		{"seed error", []string{"-socket", path, "joinVoIPChat", `{"groupId":"g"}`}, 1, "", "-1000 joinVoIPChat:fail timeout\n"},
		{"unknown method", []string{"-socket", path, "frobnicate"}, 1, "", "-32601 frobnicate:fail method not found\n"},
		{"bad params JSON", []string{"-socket", path, "echo", "{nope"}, 2, "", "params are not valid JSON"},
		{"scalar params", []string{"-socket", path, "echo", "5"}, 1, "", "-32600 invalid request: params must be"},
		{"no socket", []string{"-socket", path + ".missing", "status"}, 2, "", "cannot connect to voipd at " + path + ".missing"},
		{"no method", []string{"-socket", path}, 2, "", "usage:"},
		{"too many args", []string{"-socket", path, "echo", "{}", "{}"}, 2, "", "at most one JSON params"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(testContext(t), tt.args, &out, &errb)
			if code != tt.code || out.String() != tt.out || !strings.Contains(errb.String(), tt.err) {
				t.Errorf("run(%q) = %d, stdout %q, stderr %q; want %d, %q, stderr with %q",
					tt.args, code, out.String(), errb.String(), tt.code, tt.out, tt.err)
			}
		})
	}
}

func TestSocketFromEnvironment(t *testing.T) {
	_, path := startDaemon(t)
	t.Setenv("VOIPD_SOCKET", path)
	var out, errb bytes.Buffer
	if code := run(testContext(t), []string{"status"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	// -socket wins over the environment.
	if code := run(testContext(t), []string{"-socket", path + ".x", "status"}, &out, &errb); code != 2 {
		t.Fatalf("-socket did not override VOIPD_SOCKET: exit %d", code)
	}
}

func TestInterruptedCall(t *testing.T) {
	_, path := startDaemon(t)
	ctx, cancel := context.WithCancel(testContext(t))
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"-socket", path, "hang"}, &out, &errb) }()
	cancel()
	select {
	case code := <-done:
		if code != 2 {
			t.Errorf("interrupted call exit %d, want 2", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("voipctl did not stop when interrupted")
	}
}

// lineWriter hands each complete line written to it to a channel.
type lineWriter struct {
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		l, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(l)
			return len(p), nil
		}
		w.lines <- l
	}
}

func TestEvents(t *testing.T) {
	s, path := startDaemon(t)
	ctx, cancel := context.WithCancel(testContext(t))
	out := &lineWriter{lines: make(chan string, 16)}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-socket", path, "events", "onVoIPChatMembersChanged"}, out, &errb)
	}()
	// Publish until the subscription is in place: voipctl subscribes
	// asynchronously, and events before that are not meant for it.
	want := `{"event":"onVoIPChatMembersChanged","data":{"openIdList":["a","b"]}}` + "\n"
	var got string
	for got == "" {
		s.Publish("onVoIPChatSpeakersChanged", map[string]any{"openIdList": []string{"x"}}) // not subscribed
		s.Publish("onVoIPChatMembersChanged", map[string]any{"openIdList": []string{"a", "b"}})
		select {
		case got = <-out.lines:
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("no event printed; stderr %q", errb.String())
		}
	}
	if got != want {
		t.Fatalf("printed %q, want %q", got, want)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("events after interrupt: exit %d, stderr %q", code, errb.String())
	}
}

func TestEventsEndWhenDaemonCloses(t *testing.T) {
	s, path := startDaemon(t)
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(testContext(t), []string{"-socket", path, "events"}, io.Discard, &errb) }()
	for s.Stats().Requests == 0 { // subscribed
		select {
		case code := <-done:
			t.Fatalf("events exited early: %d %s", code, errb.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	s.Close()
	select {
	case code := <-done:
		if code != 2 || !strings.Contains(errb.String(), "closed the connection") {
			t.Fatalf("exit %d, stderr %q", code, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("events did not end when voipd closed")
	}
}

func TestSign(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	const toml = "[identity]\nappId = \"wxapp1\"\nopenid = \"door-1\"\nsessionKey = \"k3y\"\n"
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(testContext(t), []string{"-config", cfg, "sign", "-groupId", "g-42"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var s struct {
		Signature string `json:"signature"`
		NonceStr  string `json:"nonceStr"`
		TimeStamp int64  `json:"timeStamp"`
	}
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatal(err)
	}
	if len(s.NonceStr) != 16 || strings.Trim(s.NonceStr, alphanumerics) != "" {
		t.Errorf("nonceStr %q is not 16 alphanumerics", s.NonceStr)
	}
	if d := time.Now().Unix() - s.TimeStamp; d < 0 || d > 60 {
		t.Errorf("timeStamp %d is not now", s.TimeStamp)
	}
	if !proto.VerifySignature(s.Signature, "wxapp1", "g-42", s.NonceStr, s.TimeStamp, "k3y") {
		t.Errorf("signature does not verify")
	}

	errCases := []struct {
		name string
		args []string
		err  string
	}{
		{"no group", []string{"-config", cfg, "sign"}, "usage"},
		{"missing config", []string{"-config", filepath.Join(dir, "none.toml"), "sign", "-groupId", "g"}, "none.toml"},
	}
	for _, tt := range errCases {
		var errb bytes.Buffer
		if code := run(testContext(t), tt.args, io.Discard, &errb); code != 2 || !strings.Contains(errb.String(), tt.err) {
			t.Errorf("%s: exit %d, stderr %q", tt.name, code, errb.String())
		}
	}
}

func TestSocketFromConfig(t *testing.T) {
	_, path := startDaemon(t)
	cfg := filepath.Join(t.TempDir(), "config.toml")
	toml := "[identity]\nappId = \"a\"\nopenid = \"o\"\n[control]\nsocket = \"" + path + "\"\n"
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	if code := run(testContext(t), []string{"-config", cfg, "status"}, io.Discard, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
}
