package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/internal/browsertest"
)

// A headless Chromium with a fake camera joins a daemon's video room
// through the browser client: Chromium decodes the daemon's video (the
// frame number read from a canvas advances) and the daemon decodes the
// browser's. Then a page on the daemon's local display shows its own
// camera and the browser's video with <voip-room>; a bad openid fires error.
func TestBrowserVideoAndLocalDisplay(t *testing.T) {
	n := startNode(t, "kiosk", "embedded", "", 440, func(c *config.Config) {
		c.Embedded.Listen = "127.0.0.1:0"
		c.Embedded.Dev = true
		c.Embedded.AppSecret = randomHex(16)
		c.Identity.SessionKey = ""
		c.Display.Listen = "127.0.0.1:0"
	})
	n.secret = n.cfg.Embedded.AppSecret
	if n.in.displayURL == "" {
		t.Fatal("the display did not start")
	}
	n.ctl.mustOK("joinVoIPChat", videoParams(n, "demo"))

	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	t0 := time.Now()
	page, err := b.Open(ctx, n.in.webURL+"/?groupId=demo&openid=browser-1&autojoin=1&roomType=video")
	if err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(ctx, `(await window.voipd.stats()).inboundVideo.some(v => v.member === "kiosk" && v.framesDecoded > 0)`); err != nil {
		t.Fatal(err)
	}
	t.Logf("page open to the first frame of the daemon decoded in Chromium: %v", time.Since(t0))
	var f1, f2 *float64
	if err := page.WaitFor(ctx, `window.voipd.frameNumber("kiosk") !== null`); err != nil {
		t.Fatal(err)
	}
	page.Eval(ctx, `window.voipd.frameNumber("kiosk")`, &f1)
	time.Sleep(500 * time.Millisecond)
	if err := page.WaitFor(ctx, fmt.Sprintf(`window.voipd.frameNumber("kiosk") > %v`, *f1)); err != nil {
		t.Fatalf("the frame number read in Chromium does not advance past %v: %v", *f1, err)
	}
	page.Eval(ctx, `window.voipd.frameNumber("kiosk")`, &f2)
	t.Logf("frame numbers read from Chromium's canvas: %v then %v", *f1, *f2)
	eventually(t, 20*time.Second, "the daemon decodes the browser's video", func() bool {
		return videoInboundOK(t, n, "browser-1")
	})

	// The device's own screen: the display's page, with elements added.
	disp, err := b.Open(ctx, n.in.displayURL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if err := disp.Eval(ctx, `(() => {
		const add = (attrs) => { const e = document.createElement('voip-room');
			for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
			e.addEventListener('error', ev => { e.dataset.err = JSON.stringify(ev.detail); });
			document.body.append(e); return e; };
		window.t = { cam: add({mode: 'camera'}), member: add({mode: 'video', openid: 'browser-1'}),
			nobody: add({mode: 'video', openid: 'nobody'}) };
		return true; })()`, nil); err != nil {
		t.Fatal(err)
	}
	for _, el := range []string{"cam", "member"} {
		cond := fmt.Sprintf(`window.t.%s.video.videoWidth > 0 && window.t.%s.video.getVideoPlaybackQuality().totalVideoFrames > 5`, el, el)
		if err := disp.WaitFor(ctx, cond); err != nil {
			t.Fatalf("<voip-room> %s renders no frames: %v", el, err)
		}
	}
	var errDetail string
	if err := disp.WaitFor(ctx, `window.t.nobody.dataset.err !== undefined`); err != nil {
		t.Fatalf("a bad openid fired no error: %v", err)
	}
	disp.Eval(ctx, `window.t.nobody.dataset.err`, &errDetail)
	t.Logf("bad openid: %s", errDetail)
	n.ctl.mustOK("exitVoIPChat", nil)
}

// audioDecoded is how many audio frames n has decoded from member (0
// before any), by its getStats.
func audioDecoded(n *node, member string) float64 {
	in, _ := n.ctl.mustOK("getStats", nil)["inbound"].([]any)
	for _, x := range in {
		if m := x.(map[string]any); m["member"] == member && m["kind"] != "video" {
			return m["framesDecoded"].(float64)
		}
	}
	return 0
}

func videoInboundOK(t *testing.T, n *node, member string) bool {
	stats := n.ctl.mustOK("getStats", nil)
	for _, x := range stats["inbound"].([]any) {
		if m := x.(map[string]any); m["kind"] == "video" && m["member"] == member && m["framesReceived"].(float64) > 0 {
			return true
		}
	}
	return false
}
