package pprofserve

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestServesOnLoopbackOnly(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if url, err := Start(ctx, "", log); url != "" || err != nil {
		t.Fatalf("empty address: %q %v", url, err)
	}
	if _, err := Start(ctx, "0.0.0.0:0", log); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("0.0.0.0 accepted: %v", err)
	}
	url, err := Start(ctx, "127.0.0.1:0", log)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url + "goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "goroutine profile") {
		t.Fatalf("%d %.100s", resp.StatusCode, b)
	}
}
