package roomd_test

import (
	"context"
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

var browserApp = roomd.App{ID: "wx20afc706a711eefc", Secret: "browser-test-secret"}

// callSide is the Go end of a call: it counts the audio packets it gets
// and records the member lists.
type callSide struct {
	members chan []string
	packets atomic.Int64
}

func (c *callSide) MembersChanged(m []string) { c.members <- m }
func (c *callSide) TrackEnded(string)         {}
func (c *callSide) Interrupted(error)         {}
func (c *callSide) AudioTrack(_ string, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	go func() {
		for {
			if _, _, err := t.ReadRTP(); err != nil {
				return
			}
			c.packets.Add(1)
		}
	}()
}

// presenceSide is a Go presence recording its invitations.
type presenceSide struct{ invited chan room.Invite }

func (p *presenceSide) Invited(inv room.Invite)      { p.invited <- inv }
func (p *presenceSide) CallCancelled(string, string) {}
func (p *presenceSide) PresenceLost(error)           {}

// opusSilence is one 20 ms Opus frame of silence (TOC 0xf8: CELT, 20 ms),
// a packet Chromium decodes and counts.
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// TestBrowserCall: a Go room client calls a page registered with
// enable1v1=1, the page shows the caller and answers, audio flows both ways
// in the call room, and the page's hangup leaves the Go side alone. Then
// the page calls a Go presence, which declines.
func TestBrowserCall(t *testing.T) {
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := room.Config{URL: "ws" + srv.URL()[len("http"):] + "/ws"}

	page, err := b.Open(ctx, srv.URL()+"/?openid=door&enable1v1=1")
	if err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(ctx, `window.voipd.registered === true && window.voipd.callState === "idle"`); err != nil {
		t.Fatal(err)
	}

	sg := roomd.Sign(browserApp, "lobby", proto.CallGroup("door"), time.Now())
	outcome := make(chan error, 1)
	var ticket *room.CallTicket
	go func() {
		var err error
		ticket, err = room.Call(ctx, cfg, room.CallParams{AppID: sg.AppID, NonceStr: sg.NonceStr,
			TimeStamp: sg.TimeStamp, Signature: sg.Signature, RoomType: "voice",
			Caller: room.Party{Nickname: "Lobby", OpenID: "lobby"}, Listener: room.Party{Nickname: "Door", OpenID: "door"}})
		outcome <- err
	}()
	if err := page.WaitFor(ctx, `window.voipd.callState === "ringing" &&
		window.voipd.incoming.caller.openid === "lobby" && window.voipd.incoming.roomType === "voice" &&
		!document.querySelector("#incoming").hidden &&
		document.querySelector("#incoming .caller").textContent === "Lobby"`); err != nil {
		t.Fatal(err)
	}
	if err := page.Eval(ctx, `window.voipd.answer(true)`, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-outcome:
		if err != nil {
			t.Fatalf("Call: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the call was not answered")
	}
	if ticket.Peer != "door" {
		t.Fatalf("ticket %+v", ticket)
	}

	side := &callSide{members: make(chan []string, 16)}
	s, err := room.JoinCall(ctx, cfg, ticket, "lobby", side)
	if err != nil {
		t.Fatalf("JoinCall: %v", err)
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

	if err := page.WaitFor(ctx, `window.voipd.callState === "inCall" &&
		(await window.voipd.stats()).inboundAudio.some(a => a.member === "lobby" && a.packetsReceived > 0)`); err != nil {
		t.Fatalf("the page did not receive the caller's audio: %v", err)
	}
	for side.packets.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the Go side did not receive the page's audio")
		}
		time.Sleep(50 * time.Millisecond)
	}

	if err := page.Eval(ctx, `window.voipd.hangup()`, nil); err != nil {
		t.Fatal(err)
	}
	for alone := false; !alone; {
		select {
		case m := <-side.members:
			alone = slices.Equal(m, []string{"lobby"})
		case <-ctx.Done():
			t.Fatal("no MembersChanged [lobby] after the page hung up")
		}
	}
	if err := page.WaitFor(ctx, `window.voipd.callState === "ended" && window.voipd.lastCallEnd.reason === "local"`); err != nil {
		t.Fatal(err)
	}

	// The page calls a Go presence, which declines.
	ps := roomd.Sign(browserApp, "desk", proto.PresenceGroup("desk"), time.Now())
	desk := &presenceSide{invited: make(chan room.Invite, 1)}
	p, err := room.Register(ctx, cfg, room.PresenceParams{AppID: ps.AppID, OpenID: "desk", NonceStr: ps.NonceStr,
		TimeStamp: ps.TimeStamp, Signature: ps.Signature}, desk)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := page.Eval(ctx, `window.voipd.call("desk", "video")`, nil); err != nil {
		t.Fatal(err)
	}
	var inv room.Invite
	select {
	case inv = <-desk.invited:
	case <-ctx.Done():
		t.Fatal("the page's call did not ring")
	}
	if inv.Caller.OpenID != "door" || inv.RoomType != "video" {
		t.Fatalf("Invited(%+v)", inv)
	}
	if _, err := p.Answer(ctx, inv.CallID, false); err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(ctx, `window.voipd.callState === "ended" && window.voipd.lastCallEnd.reason === "declined"`); err != nil {
		t.Fatal(err)
	}
	for _, line := range page.Console() {
		t.Logf("console: %s", line)
		if strings.HasPrefix(line, "exception") {
			t.Errorf("the page threw: %s", line)
		}
	}
}
