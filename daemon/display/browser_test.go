// The feeds are encoded with libvpx (codec/vp8, cgo); the rest of the
// package's tests run with CGO_ENABLED=0, as docs/ARCHITECTURE.md
// ("Imports") asks of daemon/.

//go:build cgo

package display

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/codec/vp8rtp"
	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/internal/browsertest"
)

// Feeds are small and slow so three libvpx encoders and Chromium's
// decoders share a 2-core machine comfortably.
const feedW, feedH, feedFPS = 320, 240, 15

// feed encodes hw/synth's pattern camera named pattern with libvpx and
// writes the VP8 RTP into src, as the daemon's own camera pipeline does,
// until the returned stop is called. A keyframe request forces the next
// frame to be a keyframe.
func feed(t *testing.T, src *Source, pattern string, ssrc uint32) (stop func()) {
	t.Helper()
	cam := synth.NewPatternCamera(pattern, hw.CameraRequest{Width: feedW, Height: feedH, FPS: feedFPS})
	enc, err := vp8.NewEncoder(vp8.EncoderParams{Width: feedW, Height: feedH, FPS: feedFPS, Bitrate: 300_000})
	if err != nil {
		t.Fatal(err)
	}
	z, err := vp8rtp.NewPacketizer(vp8rtp.Params{SSRC: ssrc})
	if err != nil {
		t.Fatal(err)
	}
	var force atomic.Bool
	src.OnKeyframeRequest(func() { force.Store(true) })
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, vp8.MaxFrameBytes(feedW, feedH))
		cw, ch := yuv.ChromaSize(feedW, feedH)
		for {
			f, err := cam.ReadFrame()
			if err != nil {
				if errors.Is(err, hw.ErrClosed) {
					err = nil
				}
				done <- err
				return
			}
			y, u := f.Data[:feedW*feedH], f.Data[feedW*feedH:feedW*feedH+cw*ch]
			img := yuv.I420{Y: y, U: u, V: f.Data[feedW*feedH+cw*ch:], YStride: feedW, UStride: cw, VStride: cw,
				Width: feedW, Height: feedH}
			pts := int64(f.Seq) * vp8.ClockRate / feedFPS
			n, _, err := enc.Encode(buf, img, pts, force.Swap(false))
			if err != nil {
				done <- err
				return
			}
			if err := z.Packetize(buf[:n], uint32(pts), src.WriteRTP); err != nil {
				done <- err
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cam.Close()
			if err := <-done; err != nil {
				t.Errorf("feed %s: %v", pattern, err)
			}
			enc.Close()
		})
	}
}

// testPage has four <voip-room> elements and records their events in
// window.events before the element is even defined. It loads voip-room.js
// from the display (another origin: CORS and the script-origin default of
// the server attribute are exercised) and framenumber.js from the test's
// server, to read which pattern and frame each element shows.
const testPage = `<!doctype html>
<title>voip-room test</title>
<voip-room id="cam" mode="camera" openid="me" object-fit="contain"></voip-room>
<voip-room id="alice" mode="video" openid="alice"></voip-room>
<voip-room id="nobody" mode="video" openid="nobody"></voip-room>
<voip-room id="quiet" mode="video" openid="quiet"></voip-room>
<script>
window.events = {};
for (const el of document.querySelectorAll('voip-room')) {
  events[el.id] = [];
  for (const type of ['error', 'ended']) {
    el.addEventListener(type, (e) => events[el.id].push({ type, ...e.detail }));
  }
}
const $ = (id) => document.getElementById(id);
window.frames = (id) => $(id).video.getVideoPlaybackQuality().totalVideoFrames;
</script>
<script type="module">
import { readMark } from '/framenumber.js';
import '%s/voip-room.js';
// mark draws the element's current frame (unmirrored: CSS does not reach
// a canvas) and returns the pattern mark on it, or null.
window.mark = (id) => {
  const v = $(id).video;
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(v, 0, 0);
  return readMark(ctx.getImageData(0, 0, c.width, c.height));
};
window.ready = true;
</script>`

// TestVoipRoomElement: in headless Chromium, <voip-room> shows the
// device's own camera (mode camera, mirrored) and a member (mode video)
// from real VP8, follows a device-position change, reports an unknown
// member (1004) and a silent source (1006) with error, gives way to a
// srcObject and comes back, sees a member leave as ended, and ends its
// session when removed from the page.
func TestVoipRoomElement(t *testing.T) {
	framenumber, err := os.ReadFile("../../roomd/web/framenumber.js")
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t)
	self, alice, back := s.Source("self"), s.Source("alice"), s.Source("self:back")
	s.Source("quiet") // exists, but nobody writes: the element must say so
	for _, f := range []func(){feed(t, self, "front", 1), feed(t, alice, "alice", 2), feed(t, back, "back", 3)} {
		defer f()
	}

	page := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, testPage, s.URL())
		case "/favicon.ico":
			w.WriteHeader(http.StatusNoContent) // no 404 in the console for it
		case "/framenumber.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(framenumber)
		default:
			http.NotFound(w, r)
		}
	}))
	page.Start() // httptest listens on 127.0.0.1
	defer page.Close()

	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p, err := b.Open(ctx, page.URL)
	if err != nil {
		t.Fatal(err)
	}
	wait := func(cond string) {
		t.Helper()
		if err := p.WaitFor(ctx, cond); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(js string, out any) {
		t.Helper()
		if err := p.Eval(ctx, js, out); err != nil {
			t.Fatal(err)
		}
	}
	wait(`window.ready === true`)

	// Both elements play, and keep decoding new frames.
	for _, id := range []string{"cam", "alice"} {
		wait(fmt.Sprintf(`$(%q).state === 'playing' && $(%q).video.videoWidth === %d`, id, id, feedW))
		var n int
		eval(fmt.Sprintf(`frames(%q)`, id), &n)
		wait(fmt.Sprintf(`frames(%q) >= %d`, id, n+10))
	}
	// Each shows its own source's picture, advancing.
	checkPattern := func(id, pattern string) {
		t.Helper()
		cond := fmt.Sprintf(`(() => { const m = mark(%q); return m && m.pattern === %d; })()`, id, synth.PatternIDOf(pattern))
		wait(cond)
		var m struct{ Frame int }
		eval(fmt.Sprintf(`mark(%q)`, id), &m)
		wait(fmt.Sprintf(`(() => { const m = mark(%q); return m && m.pattern === %d && m.frame > %d; })()`, id, synth.PatternIDOf(pattern), m.Frame))
	}
	checkPattern("cam", "front")
	checkPattern("alice", "alice")
	// Only one's own front camera is mirrored.
	var transforms []string
	eval(`['cam', 'alice'].map((id) => getComputedStyle($(id).video).transform)`, &transforms)
	if transforms[0] == "none" || transforms[1] != "none" {
		t.Errorf("transforms %q: want the front camera mirrored and the member not", transforms)
	}

	// Unknown member → 404 → error 1004; a source with no packets → 1006.
	wait(`events.nobody.some((e) => e.type === 'error' && e.errCode === 1004 && e.errMsg.startsWith('voip-room:fail '))`)
	wait(`events.quiet.some((e) => e.type === 'error' && e.errCode === 1006)`)
	var errs map[string][]map[string]any
	eval(`events`, &errs)
	for _, id := range []string{"cam", "alice"} {
		if len(errs[id]) != 0 {
			t.Errorf("%s had events %v", id, errs[id])
		}
	}

	// device-position back: the element switches to the back camera,
	// unmirrored, and the front camera's session ends.
	eval(`$('cam').setAttribute('device-position', 'back')`, nil)
	wait(`$('cam').sourceId === 'self:back' && $('cam').state === 'playing'`)
	checkPattern("cam", "back")
	eval(`getComputedStyle($('cam').video).transform`, &transforms[0])
	if transforms[0] != "none" {
		t.Errorf("back camera transform %q, want none", transforms[0])
	}
	waitGo(ctx, t, "the front camera's session to end", func() bool { return self.Stats().Viewers == 0 })

	// A srcObject takes over, as in roomd's client (the same file): the
	// WHEP session ends at once and the page's stream shows, with the
	// speaking ring and the muted badge. Set back to null, the element
	// connects again, and leaves the page's track running.
	eval(`(async () => {
		window.own = await navigator.mediaDevices.getUserMedia({video: true});
		const el = $('alice');
		el.srcObject = own;
		el.speaking = true;
		el.muted = true;
	})()`, nil)
	waitGo(ctx, t, "alice's session to end for the srcObject", func() bool { return alice.Stats().Viewers == 0 })
	wait(`$('alice').state === 'playing' && $('alice').video.srcObject === own && $('alice').hasAttribute('data-has-video') &&
		$('alice').shadowRoot.querySelector('.badge').textContent === 'muted' &&
		getComputedStyle($('alice')).boxShadow !== 'none'`)
	eval(`$('alice').srcObject = null; $('alice').speaking = false; $('alice').muted = false`, nil)
	wait(`$('alice').state === 'playing' && $('alice').video.srcObject !== own`)
	checkPattern("alice", "alice")
	var own struct {
		Live   bool
		Events []map[string]any
	}
	eval(`({live: own.getVideoTracks()[0].readyState === 'live', events: events.alice})`, &own)
	if !own.Live || len(own.Events) != 0 {
		t.Errorf("after srcObject and back: the page's track live %v, alice's events %v; want live, none", own.Live, own.Events)
	}
	eval(`own.getTracks().forEach((t) => t.stop())`, nil)

	// The member leaves: its element sees the stream end.
	s.RemoveSource("alice")
	wait(`events.alice.some((e) => e.type === 'ended') && $('alice').state === 'ended'`)
	// Removing an element ends its session at once (DELETE).
	eval(`$('cam').remove()`, nil)
	waitGo(ctx, t, "the removed element's session to end", func() bool { return back.Stats().Viewers == 0 })

	// The overview page (same origin as the display) shows every source.
	ov, err := b.Open(ctx, s.URL()+"/")
	if err != nil {
		t.Fatal(err)
	}
	if err := ov.WaitFor(ctx, `document.querySelectorAll('voip-room').length === 3 &&
		document.querySelector('voip-room[device-position=back]').state === 'playing' &&
		document.querySelector('voip-room[mode=camera]:not([device-position=back])').state === 'playing'`); err != nil {
		t.Fatal(err)
	}

	// The only 404 is nobody's offer: an element's DELETE comes before its
	// PeerConnection closes, so it finds its session.
	c := p.Console()
	if n := strings.Count(strings.Join(c, "\n"), "404"); n != 1 {
		t.Errorf("%d 404s in the page's console, want 1 (nobody's offer)", n)
	}
	t.Logf("page console:\n  %s", strings.Join(c, "\n  "))
}

// waitGo waits for a condition on the Go side.
func waitGo(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	if err := eventually(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}
