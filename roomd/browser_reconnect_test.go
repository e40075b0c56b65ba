package roomd_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/internal/browsertest"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

// The browser client getting back into its seat by itself when roomd goes
// away and comes back (room-client.js, "Reconnecting"; proto/README.md,
// "Resume"), as the Go room client does (room/reconnect.go).

// waitLimit bounds each wait of these tests: generous, since a loaded
// machine may be slow; no figure is asserted against it.
const waitLimit = 30 * time.Second

// serveRoomd runs a dev-mode roomd on listen ("127.0.0.1:0", or the address
// of one closed before, to stand for its restart) keeping a dropped
// member's seat for grace (0: roomd's default), closed at the test's end.
func serveRoomd(t *testing.T, listen string, grace time.Duration) *roomd.Server {
	t.Helper()
	srv, err := roomd.New(roomd.Config{Listen: listen, Apps: []roomd.App{browserApp}, Dev: true, ResumeGrace: grace})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// waitOn waits up to waitLimit for condition on who's page.
func waitOn(ctx context.Context, t *testing.T, who string, p *browsertest.Page, condition string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	if err := p.WaitFor(wctx, condition); err != nil {
		t.Fatalf("%s: %v", who, err)
	}
}

// mark has the page note in window.__marks[name] the time (Unix ms) at
// which condition (JavaScript, may await) first holds, checked every 20 ms:
// finer than WaitFor's polling, so the figures logged are the page's.
func mark(ctx context.Context, t *testing.T, p *browsertest.Page, name, condition string) {
	t.Helper()
	js := fmt.Sprintf(`(() => {
		const marks = window.__marks || (window.__marks = {});
		delete marks[%[1]q];
		const poll = async () => {
			let ok = false;
			try { ok = !!(%[2]s); } catch (e) {}
			if (ok) marks[%[1]q] = Date.now(); else setTimeout(poll, 20);
		};
		poll();
	})()`, name, condition)
	if err := p.Eval(ctx, js, nil); err != nil {
		t.Fatal(err)
	}
}

// marked waits for mark's name and returns its time.
func marked(ctx context.Context, t *testing.T, who string, p *browsertest.Page, name string) time.Time {
	t.Helper()
	waitOn(ctx, t, who, p, fmt.Sprintf(`window.__marks && window.__marks[%q] !== undefined`, name))
	var ms int64
	if err := p.Eval(ctx, fmt.Sprintf(`window.__marks[%q]`, name), &ms); err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(ms)
}

// hears is the condition that p receives from's audio, with sound in it
// (the fake microphone's beep).
func hears(from string) string {
	return fmt.Sprintf(`(await window.voipd.stats()).inboundAudio.some(a =>
		a.member === %q && a.packetsReceived > 0 && a.audioLevel > 0)`, from)
}

// countSockets has the page count the WebSockets it opens from now on
// (room-client.js looks the constructor up at each attempt); sockets reads
// the count.
func countSockets(ctx context.Context, t *testing.T, p *browsertest.Page) {
	t.Helper()
	if err := p.Eval(ctx, `(() => {
		const W = window.WebSocket;
		window.__sockets = 0;
		window.WebSocket = class extends W {
			constructor(...args) { super(...args); window.__sockets++; }
		};
	})()`, nil); err != nil {
		t.Fatal(err)
	}
}

func sockets(ctx context.Context, t *testing.T, p *browsertest.Page) int {
	t.Helper()
	var n int
	if err := p.Eval(ctx, `window.__sockets`, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// noExceptions fails the test for an uncaught exception in a page.
func noExceptions(t *testing.T, who string, p *browsertest.Page) {
	t.Helper()
	for _, line := range p.Console() {
		if strings.HasPrefix(line, "exception") {
			t.Errorf("%s's page threw: %s", who, line)
		}
	}
}

// TestBrowserReconnect: two pages in a group room, roomd closed (it says
// shutdown) and started again on the same address: both pages show
// "reconnecting" meanwhile (still listing the room, Leave usable, Join not;
// a banner says what happened and the tiles dim)
// and come back into their seats by themselves: joined, the members in
// their first join's order, and each hears the other again on its new
// peer connection. After that the room works as before: a leave shows.
func TestBrowserReconnect(t *testing.T) {
	first := serveRoomd(t, "127.0.0.1:0", 0)
	addr := first.Addr()
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	type side struct {
		id, other string
		p         *browsertest.Page
	}
	var sides []side
	for _, id := range []string{"alice", "bob"} { // in this order: the join order to keep
		p, err := b.Open(ctx, first.URL()+"/?groupId=g-back&openid="+id+"&autojoin=1")
		if err != nil {
			t.Fatal(err)
		}
		waitOn(ctx, t, id, p, `window.voipd.state === "joined"`)
		sides = append(sides, side{id: id, other: map[string]string{"alice": "bob", "bob": "alice"}[id], p: p})
	}
	for _, s := range sides {
		waitOn(ctx, t, s.id, s.p, `window.voipd.members.join() === "alice,bob"`)
		waitOn(ctx, t, s.id, s.p, hears(s.other))
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	for _, s := range sides {
		// The old peer connection is closed: nothing comes in meanwhile.
		waitOn(ctx, t, s.id, s.p, `window.voipd.state === "reconnecting" &&
			document.querySelector("#state").textContent === "Reconnecting…" &&
			document.querySelector("#state").dataset.state === "reconnecting" &&
			document.querySelector("#join").disabled && !document.querySelector("#leave").disabled &&
			window.voipd.members.join() === "alice,bob" && window.voipd.lastError === null &&
			document.querySelector("#error").hidden && !document.querySelector("#reconnecting").hidden &&
			getComputedStyle(document.querySelector("#members voip-room").shadowRoot.querySelector("video")).opacity === "0.45"`)
		waitOn(ctx, t, s.id, s.p, `(await window.voipd.stats()).inboundAudio.length === 0`)
		if s.id == "alice" {
			s.p.CheckAxe(ctx, t, "reconnecting")
		}
		mark(ctx, t, s.p, "joined", `window.voipd.state === "joined"`)
		mark(ctx, t, s.p, "heard", `window.voipd.state === "joined" && `+hears(s.other))
	}
	// Down a moment, as a restart is: the pages' first attempts find
	// nothing listening and they try again.
	time.Sleep(time.Second)

	serveRoomd(t, addr, 0)
	listened := time.Now()
	for _, s := range sides {
		joined := marked(ctx, t, s.id, s.p, "joined")
		heard := marked(ctx, t, s.id, s.p, "heard")
		t.Logf("%s joined again %d ms after the new roomd listened, hears %s again after %d ms",
			s.id, joined.Sub(listened).Milliseconds(), s.other, heard.Sub(listened).Milliseconds())
	}
	for _, s := range sides {
		waitOn(ctx, t, s.id, s.p, `window.voipd.state === "joined" && window.voipd.members.length === 2 &&
			document.querySelectorAll("#members voip-room").length === 2 &&
			document.querySelectorAll("#audio audio").length === 1 && !document.querySelector("#leave").disabled &&
			document.querySelector("#reconnecting").hidden && getComputedStyle(document.querySelector("#members voip-room").shadowRoot.querySelector("video")).opacity === "1"`)
		var got []string
		if err := s.p.Eval(ctx, `window.voipd.members`, &got); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, []string{"alice", "bob"}) {
			t.Errorf("%s's members after the restart = %v, want [alice bob], the first join's order", s.id, got)
		}
		// The audio keeps coming: packetsReceived grows on the new
		// connection.
		n, ok := readStats(ctx, t, s.p).from(s.other)
		if !ok {
			t.Fatalf("%s's stats list no audio from %s", s.id, s.other)
		}
		waitOn(ctx, t, s.id, s.p, fmt.Sprintf(`(await window.voipd.stats()).inboundAudio.some(a =>
			a.member === %q && a.packetsReceived > %d && a.audioLevel > 0)`, s.other, n))
	}

	// The resumed session is a session: alice leaves, bob sees it.
	alice, bob := sides[0].p, sides[1].p
	if err := alice.Eval(ctx, `window.voipd.leave()`, nil); err != nil {
		t.Fatal(err)
	}
	waitOn(ctx, t, "alice", alice, `window.voipd.state === "left"`)
	waitOn(ctx, t, "bob", bob, `window.voipd.members.join() === "bob"`)
	for _, s := range sides {
		noExceptions(t, s.id, s.p)
	}
}

// TestBrowserReconnectGraceRunsOut: roomd keeps seats for 2 s and stays
// down longer. The page reconnects, gives up when the grace is over (state
// error, reason unreachable, shown) and then tries no more: not even once
// a roomd listens again at the address.
func TestBrowserReconnectGraceRunsOut(t *testing.T) {
	const grace = 2 * time.Second
	first := serveRoomd(t, "127.0.0.1:0", grace)
	addr := first.Addr()
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := b.Open(ctx, first.URL()+"/?groupId=g-grace&openid=alice&autojoin=1")
	if err != nil {
		t.Fatal(err)
	}
	waitOn(ctx, t, "alice", p, `window.voipd.state === "joined"`)
	countSockets(ctx, t, p)

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	closed := time.Now()
	waitOn(ctx, t, "alice", p, `window.voipd.state === "reconnecting"`)
	mark(ctx, t, p, "error", `window.voipd.state === "error"`)
	wctx, wcancel := context.WithTimeout(ctx, waitLimit)
	reason, message := waitError(wctx, t, p)
	wcancel()
	if reason != "unreachable" {
		t.Errorf("the page ended with %s %q, want unreachable", reason, message)
	}
	gaveUp := marked(ctx, t, "alice", p, "error")
	tries := sockets(ctx, t, p)
	t.Logf("gave up %d ms after roomd closed (grace %v), after %d attempts: %s",
		gaveUp.Sub(closed).Milliseconds(), grace, tries, message)
	if tries == 0 {
		t.Error("the page never tried to get back in")
	}
	waitOn(ctx, t, "alice", p, `document.querySelectorAll("#members voip-room").length === 0 &&
		document.querySelector("#leave").disabled && !document.querySelector("#join").disabled`)

	// A roomd at the address again would take the ticket (a new roomd has
	// no memory of seats given up): a page still trying would get back in.
	serveRoomd(t, addr, grace)
	time.Sleep(2 * time.Second) // four times the longest retry delay
	var state string
	if err := p.Eval(ctx, `window.voipd.state`, &state); err != nil {
		t.Fatal(err)
	}
	if n := sockets(ctx, t, p); state != "error" || n != tries {
		t.Errorf("after giving up: state %s, %d WebSockets opened (%d when it gave up); want error and no more",
			state, n, tries)
	}
	noExceptions(t, "alice", p)
}

// callPeer is the Go end of TestBrowserCallReconnect's call: it counts the
// audio packets it receives, across reconnects, and hears of them.
type callPeer struct {
	packets      atomic.Int64
	reconnecting chan error
	reconnected  chan struct{}
	interrupted  chan error
}

func newCallPeer() *callPeer {
	return &callPeer{reconnecting: make(chan error, 4), reconnected: make(chan struct{}, 4), interrupted: make(chan error, 1)}
}

func (c *callPeer) MembersChanged([]string) {}
func (c *callPeer) TrackEnded(string)       {}
func (c *callPeer) AudioTrack(_ string, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	go func() { // a reconnect's new track replaces this one, whose reads then fail
		for {
			if _, _, err := t.ReadRTP(); err != nil {
				return
			}
			c.packets.Add(1)
		}
	}()
}
func (c *callPeer) Interrupted(err error) { c.interrupted <- err }
func (c *callPeer) Reconnecting(err error) {
	select {
	case c.reconnecting <- err:
	default:
	}
}
func (c *callPeer) Reconnected() {
	select {
	case c.reconnected <- struct{}{}:
	default:
	}
}

// TestBrowserCallReconnect: a Go client calls a page, the page answers, and
// roomd restarts mid-call. Both ends get back into the call room (the page
// shows callState "reconnecting", then "inCall"), and audio flows both ways
// again; the call did not end, and hangs up as usual afterwards.
func TestBrowserCallReconnect(t *testing.T) {
	first := serveRoomd(t, "127.0.0.1:0", 0)
	addr := first.Addr()
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cfg := room.Config{URL: "ws://" + addr + "/ws"}

	page, err := b.Open(ctx, first.URL()+"/?openid=door&enable1v1=1")
	if err != nil {
		t.Fatal(err)
	}
	waitOn(ctx, t, "door", page, `window.voipd.registered === true && window.voipd.callState === "idle"`)
	sg := roomd.Sign(browserApp, "lobby", proto.CallGroup("door"), time.Now())
	type outcome struct {
		ticket *room.CallTicket
		err    error
	}
	called := make(chan outcome, 1)
	go func() {
		tk, err := room.Call(ctx, cfg, room.CallParams{AppID: sg.AppID, NonceStr: sg.NonceStr,
			TimeStamp: sg.TimeStamp, Signature: sg.Signature, RoomType: "voice",
			Caller: room.Party{Nickname: "Lobby", OpenID: "lobby"}, Listener: room.Party{Nickname: "Door", OpenID: "door"}})
		called <- outcome{tk, err}
	}()
	waitOn(ctx, t, "door", page, `window.voipd.callState === "ringing"`)
	if err := page.Eval(ctx, `window.voipd.answer(true)`, nil); err != nil {
		t.Fatal(err)
	}
	var res outcome
	select {
	case res = <-called:
	case <-time.After(waitLimit):
		t.Fatal("the call was not answered")
	}
	if res.err != nil {
		t.Fatalf("Call: %v", res.err)
	}
	lobby := newCallPeer()
	s, err := room.JoinCall(ctx, cfg, res.ticket, "lobby", lobby)
	if err != nil {
		t.Fatalf("JoinCall: %v", err)
	}
	defer s.Leave(context.Background())
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	go func() { // the same track across reconnects (room.Session)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); sendCtx.Err() == nil; seq++ {
			<-tick.C
			s.AudioTrack().WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq,
				Timestamp: uint32(seq) * 960}, Payload: opusSilence})
		}
	}()
	// Opus silence has no level: packets are what shows it arrives.
	receives := `(await window.voipd.stats()).inboundAudio.some(a => a.member === "lobby" && a.packetsReceived > 0)`
	waitOn(ctx, t, "door", page, `window.voipd.callState === "inCall" && `+receives)
	waitPackets := func(above int64) {
		t.Helper()
		for deadline := time.Now().Add(waitLimit); lobby.packets.Load() <= above; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the Go side's packets from the page stayed at %d", lobby.packets.Load())
			}
		}
	}
	waitPackets(0)

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	waitOn(ctx, t, "door", page, `window.voipd.callState === "reconnecting" &&
		document.querySelector("#call-state").dataset.state === "reconnecting" &&
		!document.querySelector("#hangup").disabled && window.voipd.lastCallEnd === null`)
	select {
	case <-lobby.reconnecting:
	case <-time.After(waitLimit):
		t.Fatal("the Go side did not start reconnecting")
	}
	mark(ctx, t, page, "back", `window.voipd.callState === "inCall" && window.voipd.callMembers.length === 2 && `+receives)

	serveRoomd(t, addr, 0)
	listened := time.Now()
	back := marked(ctx, t, "door", page, "back")
	t.Logf("the page was back in the call, receiving, %d ms after the new roomd listened", back.Sub(listened).Milliseconds())
	select {
	case <-lobby.reconnected:
	case <-time.After(waitLimit):
		t.Fatal("the Go side did not get back into the call room")
	}
	n := lobby.packets.Load()
	waitPackets(n)
	waitOn(ctx, t, "door", page, `window.voipd.callState === "inCall" && window.voipd.lastCallEnd === null &&
		[...window.voipd.callMembers].sort().join() === "door,lobby"`)
	select {
	case err := <-lobby.interrupted:
		t.Fatalf("the Go side was interrupted: %v", err)
	default:
	}

	if err := page.Eval(ctx, `window.voipd.hangup()`, nil); err != nil {
		t.Fatal(err)
	}
	waitOn(ctx, t, "door", page, `window.voipd.callState === "ended" && window.voipd.lastCallEnd.reason === "local"`)
	noExceptions(t, "door", page)
}
