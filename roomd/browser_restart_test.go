//go:build linux

package roomd_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/voipd/voipd/internal/browsertest"
	"github.com/voipd/voipd/internal/netnstest"
	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

// TestBrowserICERestart: a page's UDP is cut while its WebSocket (TCP)
// works. Once its media connection has been disconnected for 5 s (long
// before Chromium would call it failed), the page restarts ICE on the same socket and peer connection (it opens
// no new WebSocket), shows "reconnecting" meanwhile, and once UDP is back
// it is "joined" and both sides hear each other again. The Go member in
// the room never sees it leave.
func TestBrowserICERestart(t *testing.T) {
	ns := netnstest.New(t)
	srv, err := roomd.New(roomd.Config{Listen: ns.HostIP + ":0", Apps: []roomd.App{browserApp}, Dev: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	b := browsertest.StartWith(t, browsertest.Options{Netns: ns.Name, InsecureOrigins: []string{srv.URL()}})
	page, err := b.Open(ctx, srv.URL()+"/?groupId=g-ice&openid=alice&autojoin=1")
	if err != nil {
		t.Fatal(err)
	}
	waitOn(ctx, t, "alice", page, `window.voipd.state === "joined"`)
	countSockets(ctx, t, page)

	sig := roomd.Sign(browserApp, "bob", "g-ice", time.Now())
	bob := &callSide{members: make(chan []string, 64)}
	s, err := room.Join(ctx, room.Config{URL: strings.Replace(srv.URL(), "http", "ws", 1) + "/ws"},
		room.JoinParams{AppID: sig.AppID, OpenID: "bob", GroupID: "g-ice", NonceStr: sig.NonceStr,
			TimeStamp: sig.TimeStamp, Signature: sig.Signature, RoomType: "voice"}, bob)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Leave(context.Background())
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); sendCtx.Err() == nil; seq++ {
			<-tick.C
			s.AudioTrack().WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq,
				Timestamp: uint32(seq) * 960}, Payload: opusSilence})
		}
	}()
	receives := func(n int) string {
		return fmt.Sprintf(`(await window.voipd.stats()).inboundAudio.some(a => a.member === "bob" && a.packetsReceived > %d)`, n)
	}
	bobHears := func(what string) {
		t.Helper()
		n := bob.packets.Load()
		for bob.packets.Load() < n+25 {
			if ctx.Err() != nil {
				t.Fatalf("bob does not hear alice %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitOn(ctx, t, "alice", page, receives(0))
	bobHears("before the cut")

	ns.DropUDP(100)
	cut := time.Now()
	// The page restarts ICE 5 s after Chromium finds the path
	// disconnected (Chromium calls it failed only after about 30 s).
	lctx, lcancel := context.WithTimeout(ctx, 90*time.Second)
	defer lcancel()
	if err := page.WaitFor(lctx, `window.voipd.state === "reconnecting" &&
		document.querySelector("#state").dataset.state === "reconnecting" &&
		window.voipd.members.join() === "alice,bob"`); err != nil {
		t.Fatalf("alice did not show reconnecting with UDP cut: %v", err)
	}
	t.Logf("the page found its media lost %v after UDP was cut", time.Since(cut).Round(100*time.Millisecond))
	// The page restarted while its connection was disconnected, not after
	// Chromium called it failed (about 30 s).
	var cause struct{ Reason, Message string }
	if err := page.Eval(ctx, `window.voipd.reconnectCause`, &cause); err != nil {
		t.Fatal(err)
	}
	if cause.Reason != "unreachable" || cause.Message != "no media from the room server" {
		t.Errorf("reconnecting because %+v, want unreachable: no media from the room server", cause)
	}
	mark(ctx, t, page, "joined", `window.voipd.state === "joined"`)
	time.Sleep(2 * time.Second) // the first restart meets the cut network
	ns.DropUDP(0)
	lifted := time.Now()
	joined := marked(ctx, t, "alice", page, "joined")
	t.Logf("the page was joined again %d ms after UDP returned", joined.Sub(lifted).Milliseconds())

	n, ok := readStats(ctx, t, page).from("bob")
	if !ok {
		t.Fatal("alice's stats list no audio from bob")
	}
	waitOn(ctx, t, "alice", page, receives(n+25))
	bobHears("after the restart")
	if got := sockets(ctx, t, page); got != 0 {
		t.Errorf("the page opened %d new WebSockets; an ICE restart keeps its one", got)
	}
	for len(bob.members) > 0 {
		if m := <-bob.members; !slices.Contains(m, "alice") {
			t.Errorf("bob saw alice leave: %v", m)
		}
	}
	noExceptions(t, "alice", page)
}
