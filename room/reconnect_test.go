package room_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/roomd"
)

// TestReconnectAfterServerRestart: the room server goes away and comes
// back on the same address (a restart, an upgrade); both members get back
// into the room with their resume tickets (no new signature), the same
// members in the same order, and hear each other again on the same
// tracks they write to.
func TestReconnectAfterServerRestart(t *testing.T) {
	first := startServer(t, nil)
	addr := first.Addr()
	a, b := newRecorder(), newRecorder()
	sa := join(t, first, "a", "g", a)
	sb := join(t, first, "b", "g", b)
	a.waitMembers(t, "a", "b")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sendAudio(ctx, t, sa, "a")
	go sendAudio(ctx, t, sb, "b")
	b.waitPacketFrom(t, "a")
	trackA := sa.AudioTrack()

	first.Close()
	within(t, a.reconnecting, "a reconnecting")
	within(t, b.reconnecting, "b reconnecting")
	second := startServer(t, func(c *roomd.Config) { c.Listen = addr })
	within(t, a.reconnected, "a back")
	within(t, b.reconnected, "b back")

	drain(b)
	b.waitPacketFrom(t, "a")
	a.waitPacketFrom(t, "b")
	if sa.AudioTrack() != trackA {
		t.Fatal("the audio track changed across the reconnect: the caller's writes would be lost")
	}
	if m := sb.Members(); !slices.Equal(m, []string{"a", "b"}) {
		t.Fatalf("members after the restart %v, want [a b]", m)
	}
	select {
	case err := <-a.interrupted:
		t.Fatalf("a interrupted: %v", err)
	default:
	}
	_ = second
}

// TestLeaveWhileReconnecting: leaving stops a reconnect at once, and the
// Handler hears nothing more.
func TestLeaveWhileReconnecting(t *testing.T) {
	srv := startServer(t, nil)
	r := newRecorder()
	s := join(t, srv, "door", "g", r)
	srv.Close()
	within(t, r.reconnecting, "reconnecting")
	done := make(chan error, 1)
	go func() { done <- s.Leave(context.Background()) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Leave did not return while reconnecting")
	}
	time.Sleep(2 * reconnectMaxForTest)
	select {
	case err := <-r.interrupted:
		t.Fatalf("interrupted after Leave: %v", err)
	case <-r.reconnected:
		t.Fatal("reconnected after Leave")
	default:
	}
}

// reconnectMaxForTest is above the session's longest wait between two
// attempts: after it, an attempt the Leave did not stop would have shown.
const reconnectMaxForTest = time.Second

// TestCallSurvivesServerRestart: the two members of an answered call get
// back into their call room after the room server restarts, with the
// resume tickets their joined carried (the call tickets are spent), and
// hear each other again; neither is interrupted.
func TestCallSurvivesServerRestart(t *testing.T) {
	first := startServer(t, nil)
	addr := first.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := newCallRecorder()
	bobP := registerPresence(t, first, "bob", ch)
	res := startCall(ctx, first, callParams("alice", "bob", "voice", 0))
	inv := ch.waitInvite(t)
	bobT := answerCall(t, bobP, inv.CallID, true)
	r := within(t, res, "call outcome")
	if r.err != nil {
		t.Fatal(r.err)
	}
	ra, rb := newRecorder(), newRecorder()
	a := joinCall(t, first, r.ticket, "alice", ra)
	b := joinCall(t, first, bobT, "bob", rb)
	go sendAudio(ctx, t, a, "alice")
	go sendAudio(ctx, t, b, "bob")
	rb.waitPacketFrom(t, "alice")
	if a.Ticket() == "" || b.Ticket() == "" {
		t.Fatal("a call room's joined carried no resume ticket")
	}

	first.Close()
	within(t, ra.reconnecting, "alice reconnecting")
	within(t, rb.reconnecting, "bob reconnecting")
	startServer(t, func(c *roomd.Config) { c.Listen = addr })
	within(t, ra.reconnected, "alice back")
	within(t, rb.reconnected, "bob back")
	drain(rb)
	drain(ra)
	rb.waitPacketFrom(t, "alice")
	ra.waitPacketFrom(t, "bob")
	if m := a.Members(); !slices.Equal(m, []string{"alice", "bob"}) {
		t.Fatalf("alice's members after the restart %v", m)
	}
	for who, rec := range map[string]*recorder{"alice": ra, "bob": rb} {
		select {
		case err := <-rec.interrupted:
			t.Fatalf("%s interrupted: %v", who, err)
		default:
		}
	}
}

// TestRTCReconnectAfterServerRestart: token room members get back into
// their room after the server restarts, joining again with their tokens
// (no ticket), publishing and receiving as before: each hears the other
// again, and a member that had stopped publishing stays stopped.
func TestRTCReconnectAfterServerRestart(t *testing.T) {
	first := startRTCServer(t, nil)
	addr := first.Addr()
	ra, rb := newRTCRecorder(), newRTCRecorder()
	a := joinRTC(t, first, rtcParams(t, "hall", "a", true), ra)
	b := joinRTC(t, first, rtcParams(t, "hall", "b", true), rb)
	sendFor(t, a, "a", false)
	sendFor(t, b, "b", false)
	rb.waitPacketFrom(t, "a")
	ra.waitPacketFrom(t, "b")
	c := joinRTC(t, first, rtcParams(t, "hall", "quiet", true), newRTCRecorder())
	if err := c.SetPublishing(false, false); err != nil {
		t.Fatal(err)
	}
	sendFor(t, c, "quiet", false)

	first.Close()
	within(t, ra.reconnecting, "a reconnecting")
	within(t, rb.reconnecting, "b reconnecting")
	startRTCServer(t, func(cfg *roomd.Config) { cfg.Listen = addr })
	within(t, ra.reconnected, "a back")
	within(t, rb.reconnected, "b back")
	drain(ra.recorder)
	drain(rb.recorder)
	rb.waitPacketFrom(t, "a")
	ra.waitPacketFrom(t, "b")
	// A re-created token room lists its members in the order they came
	// back (tokens carry no join time).
	for deadline := time.Now().Add(15 * time.Second); !slices.Equal(slices.Sorted(slices.Values(b.Members())), []string{"a", "b", "quiet"}); {
		if time.Now().After(deadline) {
			t.Fatalf("b's members after the restart: %v", b.Members())
		}
		time.Sleep(50 * time.Millisecond)
	}
	noAudioFrom(t, rb.recorder, "quiet", time.Second) // it had stopped publishing, and still has
	select {
	case err := <-ra.interrupted:
		t.Fatalf("a interrupted: %v", err)
	default:
	}
}
