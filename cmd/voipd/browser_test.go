package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/internal/browsertest"
)

// A headless Chromium opens the browser client served by voipd's embedded
// roomd and joins the daemon's room: the browser's WebRTC stats show the
// daemon's audio arriving (packets and level above zero), and the daemon's
// getStats shows the browser's.
func TestBrowserJoinsDaemonRoom(t *testing.T) {
	n := startNode(t, "kiosk", "embedded", "", 440, func(c *config.Config) {
		c.Embedded.Listen = "127.0.0.1:0"
		c.Embedded.Dev = true
		c.Embedded.AppSecret = randomHex(16)
		c.Identity.SessionKey = ""
	})
	n.secret = n.cfg.Embedded.AppSecret
	if n.in.webURL == "" {
		t.Fatal("the embedded room server did not report its URL")
	}
	n.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatMembersChanged"}})
	n.ctl.mustOK("joinVoIPChat", n.joinParams("demo"))

	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page, err := b.Open(ctx, n.in.webURL+"/?groupId=demo&openid=browser-1&autojoin=1")
	if err != nil {
		t.Fatal(err)
	}
	n.ctl.waitEvent(ctx, "onVoIPChatMembersChanged", func(p map[string]any) bool {
		return slices.Contains(strList(p["openIdList"]), "browser-1")
	})
	if err := page.WaitFor(ctx, `window.voipd && window.voipd.members.includes("kiosk")`); err != nil {
		t.Fatal(err)
	}
	// WaitFor's condition runs inside an async function: await, don't wrap.
	if err := page.WaitFor(ctx, `(await window.voipd.stats()).inboundAudio.some(a => a.member === "kiosk" && a.packetsReceived > 0 && a.audioLevel > 0)`); err != nil {
		t.Fatal(err)
	}
	var st struct {
		InboundAudio []struct {
			Member          string
			PacketsReceived int
			AudioLevel      float64
		}
	}
	if err := page.Eval(ctx, `window.voipd.stats()`, &st); err != nil {
		t.Fatal(err)
	}
	t.Logf("browser's inbound audio: %+v", st.InboundAudio)
	if len(st.InboundAudio) == 0 || st.InboundAudio[0].PacketsReceived == 0 {
		t.Fatalf("browser stats show no audio from the daemon: %+v", st)
	}
	eventually(t, 20*time.Second, "the daemon receives the browser's audio", func() bool {
		stats := n.ctl.mustOK("getStats", nil)
		in, _ := stats["inbound"].([]any)
		for _, x := range in {
			m := x.(map[string]any)
			if m["member"] == "browser-1" && m["packetsReceived"].(float64) > 0 && m["framesDecoded"].(float64) > 0 {
				return true
			}
		}
		return false
	})
	n.ctl.mustOK("exitVoIPChat", nil)
	if err := page.WaitFor(ctx, `!window.voipd.members.includes("kiosk")`); err != nil {
		t.Fatal(err)
	}
}
