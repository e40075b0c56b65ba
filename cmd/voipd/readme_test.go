package main

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestREADMEWireExample runs the README's "On the wire" example against
// voipd: its requests (the elided signature filled in) go to a daemon
// whose openid is door-1 after a member browser-7f3a joined the room, and
// every answer must come back byte for byte as the README prints it.
func TestREADMEWireExample(t *testing.T) {
	f, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(f), "On the wire")
	_, block, ok2 := strings.Cut(after, "```json\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no \"On the wire\" json block")
	}
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	other := startNode(t, "browser-7f3a", url, secret, 1000, nil)
	other.ctl.mustOK("joinVoIPChat", other.joinParams("lobby"))
	door := startNode(t, "door-1", url, secret, 440, nil)
	signed, err := json.Marshal(door.joinParams("lobby"))
	if err != nil {
		t.Fatal(err)
	}

	conn, err := net.Dial("unix", door.cfg.Control.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	answers := 0
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		var m struct {
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if strings.Contains(line, `"method"`) {
			// The README elides what a signature is: send a signed join.
			head, _, _ := strings.Cut(line, `"params":`)
			if err := json.Unmarshal([]byte(head+`"params":{}}`), &m); err != nil {
				t.Fatalf("README request %s: %v", line, err)
			}
			conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write([]byte(head + `"params":` + string(signed) + "}\n")); err != nil {
				t.Fatal(err)
			}
			continue
		}
		conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		got, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for %s: %v", line, err)
		}
		if got != line+"\n" {
			t.Errorf("README example:\n got %s\nwant %s", got, line)
		}
		answers++
	}
	if answers != 2 {
		t.Fatalf("%d answers checked, want the README's 2", answers)
	}
}
