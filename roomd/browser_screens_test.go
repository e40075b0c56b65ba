package roomd_test

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
)

// TestBrowserScreens (issue 20) takes the page's main screens at a phone's
// size (390 × 844) and a desktop's (1280 × 800) as PNGs: before joining, in
// a video room of two with the other's picture arriving, the same in
// Chinese, after an error, a video call ringing and the call answered
// with video. make screenshots keeps them
// (VOIPD_SCREENSHOTS=dir; else they go to the test's temporary directory)
// for a person to look at; each is checked to be a PNG of the screen's
// size.
func TestBrowserScreens(t *testing.T) {
	dir := os.Getenv("VOIPD_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	shot := func(t *testing.T, p *browsertest.Page, name string, w, h int) {
		t.Helper()
		path := filepath.Join(dir, name+".png")
		if err := p.Screenshot(ctx, path); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got := img.Bounds().Size(); got.X != w || got.Y != h {
			t.Errorf("%s is %v, want %dx%d", path, got, w, h)
		}
	}
	for _, size := range []struct {
		name   string
		w, h   int
		mobile bool
	}{{"phone", 390, 844, true}, {"desktop", 1280, 800, false}} {
		t.Run(size.name, func(t *testing.T) {
			open := func(url string) *browsertest.Page {
				p, err := b.Open(ctx, srv.URL()+url)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Viewport(ctx, int64(size.w), int64(size.h), size.mobile); err != nil {
					t.Fatal(err)
				}
				return p
			}
			group := "door-" + size.name
			p := open(fmt.Sprintf("/?lang=en&roomType=video&groupId=%s&openid=resident", group))
			shot(t, p, "join-"+size.name, size.w, size.h)
			door := open(fmt.Sprintf("/?lang=en&roomType=video&groupId=%s&openid=door&autojoin=1", group))
			defer door.Close()
			if err := p.Eval(ctx, `document.querySelector("#join").click()`, nil); err != nil {
				t.Fatal(err)
			}
			if err := p.WaitFor(ctx, `window.voipd.state === "joined" && (() => {
				const o = [...document.querySelectorAll("#members voip-room")].find((t) => !t.classList.contains("self"));
				const v = o && o.shadowRoot.querySelector("video");
				return !!v && v.videoWidth > 0 && v.currentTime > 0.5;
			})()`); err != nil {
				t.Fatalf("the door's picture did not arrive: %v", err)
			}
			shot(t, p, "room-"+size.name, size.w, size.h)
			if err := p.Eval(ctx, `document.querySelector("#lang").click()`, nil); err != nil {
				t.Fatal(err)
			}
			if err := p.WaitFor(ctx, `document.documentElement.lang === "zh-CN"`); err != nil {
				t.Fatal(err)
			}
			shot(t, p, "room-zh-"+size.name, size.w, size.h)
			if err := p.Eval(ctx, `document.querySelector("#lang").click()`, nil); err != nil { // back, for the next pages
				t.Fatal(err)
			}
			pe := open("/?lang=en&groupId=x&openid=eve&autojoin=1&appId=wx20afc706a711eefc&nonceStr=n&timeStamp=1&signature=00")
			if err := pe.WaitFor(ctx, `window.voipd.state === "error"`); err != nil {
				t.Fatal(err)
			}
			shot(t, pe, "error-"+size.name, size.w, size.h)

			// A video call between two pages: ringing, then answered with video.
			callee := open("/?lang=en&openid=resident-" + size.name + "&enable1v1=1")
			caller := open("/?lang=en&openid=door-" + size.name)
			defer caller.Close()
			if err := callee.WaitFor(ctx, `window.voipd.registered`); err != nil {
				t.Fatal(err)
			}
			if err := caller.Eval(ctx, `window.voipd.call("resident-`+size.name+`", "video")`, nil); err != nil {
				t.Fatal(err)
			}
			if err := callee.WaitFor(ctx, `window.voipd.callState === "ringing" && !document.querySelector("#incoming").hidden`); err != nil {
				t.Fatal(err)
			}
			shot(t, callee, "incoming-"+size.name, size.w, size.h)
			if err := callee.Eval(ctx, `document.querySelector("#accept-video").click()`, nil); err != nil {
				t.Fatal(err)
			}
			if err := callee.WaitFor(ctx, `window.voipd.callState === "inCall" && window.voipd.callVideo &&
				!document.querySelector("#call-self").hidden && window.voipd.callSeconds >= 1 && (() => {
					const v = document.querySelector("#call-video");
					return v.videoWidth > 0 && v.currentTime > 0.5;
				})()`); err != nil {
				t.Fatalf("the call's picture did not arrive: %v", err)
			}
			// The call's controls stay on the screen under its picture.
			var hang struct{ Bottom, Video float64 }
			if err := callee.Eval(ctx, `({bottom: document.querySelector("#hangup").getBoundingClientRect().bottom,
				video: document.querySelector("#call-video").getBoundingClientRect().width})`, &hang); err != nil {
				t.Fatal(err)
			}
			if hang.Bottom > float64(size.h) || hang.Video < 320 {
				t.Errorf("in a call: hang-up's bottom at %.0f px of %d, the picture %.0f px wide; want hang-up on the screen, the picture ≥ 320 px",
					hang.Bottom, size.h, hang.Video)
			}
			shot(t, callee, "call-"+size.name, size.w, size.h)
		})
	}
}
