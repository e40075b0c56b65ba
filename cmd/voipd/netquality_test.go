//go:build linux

package main

import (
	"context"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
	"github.com/voipd/voipd/internal/netnstest"
	"github.com/voipd/voipd/roomd"
)

// TestBrowserPoorNetwork (issue 20): the page says when its network is
// poor, from the browser's own WebRTC statistics (netquality.js). Chromium
// sits in a network namespace; a voipd on the host talks to it, in a group
// room and then in a call it places to the page. Losing 20 % of the UDP
// both ways (nftables) makes the page show "Poor connection" beside the
// room's state (and in the call's card), with the loss in its title; with
// the loss lifted the badge goes. The WebSocket (TCP) is not touched, so
// the room stays joined throughout.
func TestBrowserPoorNetwork(t *testing.T) {
	ns := netnstest.New(t)
	srv, secret := testRoomd(t, func(c *roomd.Config) { c.Listen = ns.HostIP + ":0" })
	url := wsURL(srv.URL())
	host := startNode(t, "door", url, secret, doorHz, nil)
	b := browsertest.StartWith(t, browsertest.Options{Netns: ns.Name, InsecureOrigins: []string{srv.URL()}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	page, err := b.Open(ctx, srv.URL()+"/?groupId=street&openid=resident&autojoin=1&enable1v1=1&lang=en")
	if err != nil {
		t.Fatal(err)
	}
	waitFor := func(what, cond string) {
		t.Helper()
		if err := page.WaitFor(ctx, cond); err != nil {
			var state string
			page.Eval(ctx, `JSON.stringify({state: window.voipd.state, network: window.voipd.network,
				callState: window.voipd.callState, callNetwork: window.voipd.callNetwork})`, &state)
			t.Fatalf("%s: %v; the page: %s", what, err, state)
		}
	}
	host.ctl.mustOK("joinVoIPChat", host.joinParams("street"))

	// The group room.
	waitFor("a good network", `window.voipd.state === "joined" && window.voipd.network.quality === "good" &&
		document.querySelector("#network").hidden`)
	ns.DropUDP(20)
	waitFor("a poor network shown", `window.voipd.state === "joined" && window.voipd.network.quality === "poor" &&
		window.voipd.network.loss >= 0.05 && !document.querySelector("#network").hidden &&
		document.querySelector("#network").innerText.includes("Poor connection") &&
		/^\d+ % of packets lost, round trip \d+ ms$/.test(document.querySelector("#network").title)`)
	var n struct {
		Loss, SendLoss, RTT float64
	}
	if err := page.Eval(ctx, `window.voipd.network`, &n); err != nil {
		t.Fatal(err)
	}
	t.Logf("group room under 20 %% loss: the page measured %.0f %% lost to it, %.0f %% of its own lost, round trip %.0f ms",
		n.Loss*100, n.SendLoss*100, n.RTT*1000)
	ns.Lift()
	waitFor("good again", `window.voipd.state === "joined" && window.voipd.network.quality === "good" &&
		document.querySelector("#network").hidden`)

	// A call from the door to the page.
	if err := page.Eval(ctx, `window.voipd.leave()`, nil); err != nil {
		t.Fatal(err)
	}
	host.ctl.mustOK("exitVoIPChat", nil)
	waitFor("registered", `window.voipd.registered && window.voipd.state === "left"`)
	join := host.ctl.send("join1v1Chat", callParams("door", "resident", "voice"))
	waitFor("ringing", `window.voipd.callState === "ringing"`)
	if err := page.Eval(ctx, `window.voipd.answer(true)`, nil); err != nil {
		t.Fatal(err)
	}
	if a := host.ctl.await(join, 20*time.Second); a.Error != nil {
		t.Fatalf("join1v1Chat: %+v", a.Error)
	}
	waitFor("a good network in the call", `window.voipd.callState === "inCall" && window.voipd.callNetwork.quality === "good" &&
		document.querySelector("#call-network").hidden`)
	ns.DropUDP(20)
	waitFor("a poor network in the call", `window.voipd.callState === "inCall" && window.voipd.callNetwork.quality === "poor" &&
		!document.querySelector("#call-network").hidden && document.querySelector("#network").hidden`)
	ns.Lift()
	waitFor("good again in the call", `window.voipd.callState === "inCall" && window.voipd.callNetwork.quality === "good" &&
		document.querySelector("#call-network").hidden`)
	if err := page.Eval(ctx, `window.voipd.hangup()`, nil); err != nil {
		t.Fatal(err)
	}
}
