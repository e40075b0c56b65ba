package main

import (
	"bufio"
	"bytes"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// rawDaemon accepts one connection on a fresh socket, hands the request
// line it reads to got, and answers with answer. It shows the bytes voipctl
// sends, and lets a test send answers voipd itself never would.
func rawDaemon(t *testing.T, answer string) (path string, got <-chan string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "raw.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	lines := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		l, _ := bufio.NewReader(c).ReadString('\n')
		lines <- l
		c.Write([]byte(answer + "\n"))
	}()
	return path, lines
}

func TestRequestLineAndErrorText(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		answer  string
		request string // exact
		code    int
		stderr  string // exact
	}{
		{"seed data", []string{"status"},
			`{"jsonrpc":"2.0","id":1,"error":{"code":-1000,"message":"m","data":{"errCode":-1000,"errMsg":"status:fail x","reason":"internal"}}}`,
			`{"jsonrpc":"2.0","id":1,"method":"status"}`, 1, "-1000 status:fail x\n"},
		{"no seed data", []string{"echo", `{ "a" : 1 }`},
			`{"jsonrpc":"2.0","id":1,"error":{"code":-5,"message":"not voipd","data":{"why":"x"}}}`,
			`{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}}`, 1, "-5 not voipd\n"},
		{"null data", []string{"echo", "null"},
			`{"jsonrpc":"2.0","id":1,"error":{"code":-6,"message":"m","data":null}}`,
			`{"jsonrpc":"2.0","id":1,"method":"echo","params":null}`, 1, "-6 m\n"},
		{"subscribe", []string{"events", "onA"},
			`{"jsonrpc":"2.0","id":1,"error":{"code":-7,"message":"m"}}`,
			`{"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"events":["onA"]}}`, 1, "-7 m\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, got := rawDaemon(t, tt.answer)
			var out, errb bytes.Buffer
			code := run(testContext(t), append([]string{"-socket", path}, tt.args...), &out, &errb)
			select {
			case req := <-got:
				if req != tt.request+"\n" {
					t.Errorf("request line %q, want %q", req, tt.request+"\n")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no request line arrived")
			}
			if code != tt.code || errb.String() != tt.stderr {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, errb.String(), tt.code, tt.stderr)
			}
		})
	}
}
