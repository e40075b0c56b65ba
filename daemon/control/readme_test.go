package control

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// readmeHandler is the handler the README's examples assume.
var readmeHandler = HandlerFunc(func(ctx context.Context, r *Request) (any, error) {
	switch r.Method {
	case "status":
		return map[string]any{"errCode": 0, "errMsg": "status:ok", "state": "idle"}, nil
	case "joinVoIPChat":
		var p struct{ GroupID string }
		json.Unmarshal(r.Params, &p)
		if p.GroupID == "" {
			return nil, InvalidParams("groupId", "is required")
		}
	}
	return nil, ErrMethodNotFound
})

// TestREADMEExamples runs every example block of README.md in order on one
// connection: "→" lines are sent, "←" lines must come back byte for byte,
// "publish NAME PARAMS" lines publish an event.
func TestREADMEExamples(t *testing.T) {
	f, err := os.Open("README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, path := startServer(t, Config{}, readmeHandler)
	c := dial(t, path)
	inBlock, n := false, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "```" {
			inBlock = !inBlock
			continue
		}
		if !inBlock {
			continue
		}
		switch {
		case strings.HasPrefix(line, "→ "):
			c.send(strings.TrimPrefix(line, "→ "))
		case strings.HasPrefix(line, "← "):
			c.conn.SetReadDeadline(deadline())
			got, err := c.r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %s: %v", line, err)
			}
			if want := strings.TrimPrefix(line, "← ") + "\n"; got != want {
				t.Errorf("README example:\n got %s\nwant %s", got, want)
			}
			n++
		case strings.HasPrefix(line, "publish "):
			name, params, _ := strings.Cut(strings.TrimPrefix(line, "publish "), " ")
			s.Publish(name, json.RawMessage(params))
		default:
			t.Fatalf("README example line not understood: %q", line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("only %d answers checked: the README's examples were not found", n)
	}
}
