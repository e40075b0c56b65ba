package browsertest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
)

// page measures the fake microphone with an AnalyserNode, so the test proves
// the flags give a real, audible capture device without any permission UI.
const page = `<!doctype html>
<title>browsertest</title>
<h1 id="h">hello</h1>
<script>
console.log("page loaded");
window.micPeak = 0;
navigator.mediaDevices.getUserMedia({audio: true}).then(stream => {
  const ac = new AudioContext();
  const an = ac.createAnalyser();
  ac.createMediaStreamSource(stream).connect(an);
  const buf = new Float32Array(an.fftSize);
  setInterval(() => {
    an.getFloatTimeDomainData(buf);
    for (const v of buf) window.micPeak = Math.max(window.micPeak, Math.abs(v));
  }, 20);
}, err => console.error("getUserMedia: " + err));
</script>`

func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	}))
	defer srv.Close()

	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	p, err := b.Open(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("eval", func(t *testing.T) {
		var n int
		if err := p.Eval(ctx, `1 + 2`, &n); err != nil || n != 3 {
			t.Fatalf("1 + 2 = %d, %v", n, err)
		}
		var s string
		if err := p.Eval(ctx, `new Promise(r => setTimeout(() => r(document.getElementById("h").textContent), 50))`, &s); err != nil || s != "hello" {
			t.Fatalf("awaited promise = %q, %v", s, err)
		}
		if err := p.Eval(ctx, `undefined`, nil); err != nil {
			t.Fatalf("undefined with nil out: %v", err)
		}
		if err := p.Eval(ctx, `undefined`, &s); err == nil {
			t.Fatal("undefined into a string: no error")
		}
		err := p.Eval(ctx, `Promise.reject(new Error("boom"))`, nil)
		if err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("rejected promise: err = %v, want one naming boom", err)
		}
	})

	t.Run("fake microphone is audible", func(t *testing.T) {
		if err := p.WaitFor(ctx, `window.micPeak > 0.01`); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("wait timeout explains itself", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		err := p.WaitFor(short, `window.neverSet === true`)
		if err == nil {
			t.Fatal("WaitFor on a false condition returned nil")
		}
		for _, want := range []string{"window.neverSet", "page loaded"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("timeout error lacks %q:\n%v", want, err)
			}
		}
		if ctx.Err() != nil {
			t.Fatal("the outer context ended too")
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "shot.png")
		if err := p.Screenshot(ctx, path); err != nil {
			t.Fatal(err)
		}
		png, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
			t.Fatalf("screenshot is not a plausible PNG (%d bytes)", len(png))
		}
	})

	t.Run("second page and close", func(t *testing.T) {
		q, err := b.Open(ctx, srv.URL+"/?second")
		if err != nil {
			t.Fatal(err)
		}
		var href string
		if err := q.Eval(ctx, `location.search`, &href); err != nil || href != "?second" {
			t.Fatalf("second page location.search = %q, %v", href, err)
		}
		q.Close()
		if err := q.Eval(ctx, `1`, nil); err == nil {
			t.Fatal("eval on a closed page succeeded")
		}
		// The first page is unaffected.
		if err := p.Eval(ctx, `1`, nil); err != nil {
			t.Fatalf("first page after closing the second: %v", err)
		}
	})
}
