package roomd_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
	"github.com/voipd/voipd/roomd"
)

// waitError waits for the page to show an error and returns its reason, as
// the hook and the visible error element both report it.
func waitError(ctx context.Context, t *testing.T, p *browsertest.Page) (reason, message string) {
	t.Helper()
	if err := p.WaitFor(ctx, `window.voipd.state === "error" && !document.querySelector("#error").hidden`); err != nil {
		t.Fatal(err)
	}
	var e struct{ Reason, Message, Shown string }
	if err := p.Eval(ctx, `({reason: window.voipd.lastError.reason, message: window.voipd.lastError.message,
		shown: document.querySelector("#error .reason").textContent})`, &e); err != nil {
		t.Fatal(err)
	}
	if e.Shown != e.Reason {
		t.Errorf("the page shows reason %q, the hook says %q", e.Shown, e.Reason)
	}
	return e.Reason, e.Message
}

// TestBrowserSessionEnds covers the ways a session ends from the server's
// side: the same openid joining elsewhere ("duplicate") drops the room and
// says why. roomd shutting down ("shutdown") does not end it: the page
// reconnects (browser_reconnect_test.go) until it leaves, which ends the
// session at once.
func TestBrowserSessionEnds(t *testing.T) {
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	u := srv.URL() + "/?groupId=g2&openid=door-1&autojoin=1"
	first, err := b.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.WaitFor(ctx, `window.voipd.state === "joined"`); err != nil {
		t.Fatal(err)
	}
	second, err := b.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if reason, _ := waitError(ctx, t, first); reason != "duplicate" {
		t.Errorf("the replaced page's reason = %q, want duplicate", reason)
	}
	if err := first.WaitFor(ctx, `document.querySelectorAll("#members voip-room").length === 0 &&
		document.querySelector("#leave").disabled`); err != nil {
		t.Errorf("the replaced page still shows the room: %v", err)
	}
	if err := second.WaitFor(ctx, `window.voipd.state === "joined" && window.voipd.members.join() === "door-1"`); err != nil {
		t.Fatal(err)
	}

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := second.WaitFor(ctx, `window.voipd.state === "reconnecting"`); err != nil {
		t.Fatalf("after roomd closed: %v", err)
	}
	if err := second.Eval(ctx, `window.voipd.leave()`, nil); err != nil {
		t.Fatal(err)
	}
	if err := second.WaitFor(ctx, `window.voipd.state === "left" && window.voipd.lastError === null &&
		document.querySelectorAll("#members voip-room").length === 0 &&
		document.querySelector("#leave").disabled && !document.querySelector("#join").disabled`); err != nil {
		t.Errorf("leaving while reconnecting: %v", err)
	}
	// Counted from the moment the page says it left (an attempt may have
	// opened its socket just before leave()).
	countSockets(ctx, t, second)
	time.Sleep(time.Second) // twice the longest retry delay
	if n := sockets(ctx, t, second); n != 0 {
		t.Errorf("the page opened %d WebSockets after leaving while reconnecting; want none", n)
	}
}

// TestBrowserNoDevSigning: without dev mode and without a signature in the
// URL the page cannot join, and says so instead of hanging.
func TestBrowserNoDevSigning(t *testing.T) {
	srv, err := roomd.New(roomd.Config{
		Listen: "127.0.0.1:0",
		Apps:   []roomd.App{{ID: "wx20afc706a711eefc", Secret: "browser-test-secret"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := srv.Start(sctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := b.Open(ctx, srv.URL()+"/?groupId=g1&openid=nobody&autojoin=1")
	if err != nil {
		t.Fatal(err)
	}
	reason, message := waitError(ctx, t, p)
	if reason != "params" || !strings.Contains(message, "dev mode") {
		t.Errorf("error = %s %q, want params naming dev mode", reason, message)
	}
}

// TestBrowserRejoin: a member that leaves and joins again (a new stream from
// the same openid, on a new transceiver) is listed and heard again, and the
// earphone mute silences its <audio> element.
func TestBrowserRejoin(t *testing.T) {
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var alice, bob *browsertest.Page
	for _, p := range []**browsertest.Page{&alice, &bob} {
		id := map[**browsertest.Page]string{&alice: "alice", &bob: "bob"}[p]
		var err error
		if *p, err = b.Open(ctx, srv.URL()+"/?groupId=g3&openid="+id+"&autojoin=1"); err != nil {
			t.Fatal(err)
		}
	}
	hears := func(from string) string {
		return fmt.Sprintf(`(await window.voipd.stats()).inboundAudio.some(a =>
			a.member === %q && a.packetsReceived > 0 && a.audioLevel > 0)`, from)
	}
	if err := alice.WaitFor(ctx, hears("bob")); err != nil {
		t.Fatal(err)
	}

	if err := bob.Eval(ctx, `window.voipd.leave()`, nil); err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitFor(ctx, `window.voipd.members.length === 1`); err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitFor(ctx, `(await window.voipd.stats()).inboundAudio.length === 0`); err != nil {
		t.Errorf("stats still list a member who left: %v", err)
	}

	if err := bob.Eval(ctx, `window.voipd.join()`, nil); err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitFor(ctx, `window.voipd.members.length === 2`); err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitFor(ctx, hears("bob")); err != nil {
		t.Fatalf("bob rejoined but alice does not hear him: %v", err)
	}
	var got []string
	if err := bob.Eval(ctx, `window.voipd.members`, &got); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("bob's members after rejoining = %v", got)
	}

	if err := alice.Eval(ctx, `document.querySelector("#deafen").click()`, nil); err != nil {
		t.Fatal(err)
	}
	if err := alice.WaitFor(ctx, `[...document.querySelectorAll("#audio audio")].every(a => a.muted) &&
		document.querySelectorAll("#audio audio").length === 1 && window.voipd.muteConfig.muteEarphone`); err != nil {
		t.Error(err)
	}
}
