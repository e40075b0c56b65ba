//go:build linux

package browsertest_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
	"github.com/voipd/voipd/internal/netnstest"
)

// nsPage reports whether it is a secure context and whether the fake
// microphone opened.
const nsPage = `<!doctype html>
<title>in a namespace</title>
<script>
window.secure = window.isSecureContext;
if (navigator.mediaDevices) {
  navigator.mediaDevices.getUserMedia({audio: true}).then(
    () => { window.micOpen = true; },
    err => console.error("getUserMedia: " + err));
} else {
  console.error("no navigator.mediaDevices: not a secure context");
}
</script>`

// TestInNamespace: Chromium in a namespace loads a page from the host's end
// of the link (the server sees the namespace's address), can open the
// microphone on the origin it was told to trust and only there, loses the
// link under Drop(100) while the test keeps driving it, and gets it back.
func TestInNamespace(t *testing.T) {
	ns := netnstest.New(t)
	var mu sync.Mutex
	var peers []string // the remote addresses of page requests
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		peers = append(peers, r.RemoteAddr)
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write([]byte(nsPage))
	})
	serve := func() string {
		l, err := net.Listen("tcp4", ns.HostIP+":0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: handler}
		go srv.Serve(l)
		t.Cleanup(func() { srv.Close() })
		return "http://" + l.Addr().String()
	}
	trusted, untrusted := serve(), serve() // two ports: two origins

	b := browsertest.StartWith(t, browsertest.Options{Netns: ns.Name, InsecureOrigins: []string{trusted}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	p, err := b.Open(ctx, trusted+"/")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the page came over the link", func(t *testing.T) {
		mu.Lock()
		defer mu.Unlock()
		if len(peers) == 0 || !strings.HasPrefix(peers[0], ns.NSIP+":") {
			t.Fatalf("page requests from %v, want from %s (the namespace's end)", peers, ns.NSIP)
		}
	})
	t.Run("trusted origin opens the microphone", func(t *testing.T) {
		if err := p.WaitFor(ctx, `window.micOpen === true`); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("another origin is not secure", func(t *testing.T) {
		q, err := b.Open(ctx, untrusted+"/")
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		var secure bool
		if err := q.Eval(ctx, `window.secure`, &secure); err != nil || secure {
			t.Fatalf("%s: isSecureContext = %v, %v; want false", untrusted, secure, err)
		}
	})

	// fetched reports whether the page can fetch from the host within 2 s.
	fetched := func() bool {
		var ok bool
		err := p.Eval(ctx, `fetch("`+untrusted+`/?probe", {cache: "no-store", signal: AbortSignal.timeout(2000)}).then(r => r.ok, () => false)`, &ok)
		if err != nil {
			t.Fatal(err) // DevTools is not on the link: evaluation must keep working
		}
		return ok
	}
	t.Run("drop cuts the page's network, not DevTools", func(t *testing.T) {
		if !fetched() {
			t.Fatal("fetch failed before any drop")
		}
		ns.Drop(100)
		if fetched() {
			t.Fatal("fetch succeeded through Drop(100)")
		}
		ns.Drop(0)
		deadline := time.Now().Add(30 * time.Second)
		for !fetched() {
			if time.Now().After(deadline) {
				t.Fatal("fetch still failing 30 s after Drop(0)")
			}
		}
	})
}
