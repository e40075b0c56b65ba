package room_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/room"
)

// A call that is accepted: the listener is invited with the caller's
// party and the room type, both sides get tickets to the same room, join
// it and hear each other; when one leaves the other is alone; tickets
// work once.
func TestCallAcceptedExchangesAudio(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := newCallRecorder()
	bobP := registerPresence(t, srv, "bob", ch)

	res := startCall(ctx, srv, callParams("alice", "bob", "voice", 0))
	inv := ch.waitInvite(t)
	if inv.Caller.OpenID != "alice" || inv.Caller.Nickname != "Caller alice" || inv.Listener.OpenID != "bob" ||
		inv.RoomType != "voice" || inv.CallID == "" {
		t.Fatalf("Invited(%+v)", inv)
	}
	bobT := answerCall(t, bobP, inv.CallID, true)
	r := within(t, res, "call outcome")
	if r.err != nil {
		t.Fatalf("Call: %v", r.err)
	}
	aliceT := r.ticket
	if aliceT.CallID != inv.CallID || bobT.CallID != inv.CallID || aliceT.RoomID != "1v1:"+inv.CallID ||
		bobT.RoomID != aliceT.RoomID || aliceT.Peer != "bob" || bobT.Peer != "alice" ||
		aliceT.Ticket == bobT.Ticket || aliceT.RoomType != "voice" {
		t.Fatalf("tickets: caller %+v, listener %+v", aliceT, bobT)
	}

	ra, rb := newRecorder(), newRecorder()
	a := joinCall(t, srv, aliceT, "alice", ra)
	go sendAudio(ctx, t, a, "alice")
	b := joinCall(t, srv, bobT, "bob", rb)
	go sendAudio(ctx, t, b, "bob")
	ra.waitMembers(t, "alice", "bob")
	ra.waitPacketFrom(t, "bob")
	rb.waitPacketFrom(t, "alice")

	// A ticket is good once: not even its owner gets in with it again.
	jctx, jcancel := context.WithTimeout(ctx, 10*time.Second)
	defer jcancel()
	_, err := room.JoinCall(jctx, callCfg(srv), bobT, "bob", newRecorder())
	wantCallReason(t, err, "ticket")
	// Nor does someone else with the other's ticket (it is bound to bob).
	_, err = room.JoinCall(jctx, callCfg(srv), bobT, "mallory", newRecorder())
	wantCallReason(t, err, "ticket")

	if err := b.Leave(jctx); err != nil {
		t.Fatal(err)
	}
	ra.waitMembers(t, "alice")
	if got := a.Members(); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("alice's Members() = %v", got)
	}
}

func TestCallDeclined(t *testing.T) {
	srv := startServer(t, nil)
	ch := newCallRecorder()
	p := registerPresence(t, srv, "bob", ch)
	res := startCall(context.Background(), srv, callParams("alice", "bob", "video", 0))
	inv := ch.waitInvite(t)
	if inv.RoomType != "video" {
		t.Fatalf("roomType %q, want video", inv.RoomType)
	}
	if tk := answerCall(t, p, inv.CallID, false); tk != nil {
		t.Fatalf("declining returned a ticket %+v", tk)
	}
	wantCallReason(t, within(t, res, "call outcome").err, "declined")
}

// A listener busy where the server cannot see (in a room elsewhere)
// says so: the caller's call ends listener_busy, the listener's Busy
// returns once the server has taken it.
func TestCallAnsweredBusy(t *testing.T) {
	srv := startServer(t, nil)
	ch := newCallRecorder()
	p := registerPresence(t, srv, "bob", ch)
	res := startCall(context.Background(), srv, callParams("alice", "bob", "voice", 0))
	inv := ch.waitInvite(t)
	if err := p.Busy(context.Background(), inv.CallID); err != nil {
		t.Fatalf("Busy: %v", err)
	}
	wantCallReason(t, within(t, res, "call outcome").err, "listener_busy")
	wantCallReason(t, p.Busy(context.Background(), inv.CallID), "not_found")
}

// Nobody answers: the caller gets no_answer after the ring timeout, the
// listener CallCancelled no_answer, and a late answer finds nothing.
func TestCallNoAnswer(t *testing.T) {
	srv := startServer(t, nil)
	ch := newCallRecorder()
	p := registerPresence(t, srv, "bob", ch)
	res := startCall(context.Background(), srv, callParams("alice", "bob", "voice", time.Second))
	inv := ch.waitInvite(t)
	wantCallReason(t, within(t, res, "call outcome").err, "no_answer")
	if c := within(t, ch.cancelled, "CallCancelled"); c != [2]string{inv.CallID, "no_answer"} {
		t.Fatalf("CallCancelled%v", c)
	}
	_, err := p.Answer(context.Background(), inv.CallID, true)
	wantCallReason(t, err, "not_found")
}

func TestCallOffline(t *testing.T) {
	srv := startServer(t, nil)
	wantCallReason(t, within(t, startCall(context.Background(), srv, callParams("alice", "nobody", "voice", 0)),
		"call outcome").err, "offline")
	// A presence that closed is offline again.
	p := registerPresence(t, srv, "bob", newCallRecorder())
	p.Close()
	wantCallReason(t, within(t, startCall(context.Background(), srv, callParams("alice", "bob", "voice", 0)),
		"call outcome").err, "offline")
}

// A listener is busy while a call rings for it and while it is in a room.
func TestCallListenerBusy(t *testing.T) {
	srv := startServer(t, nil)
	ch := newCallRecorder()
	registerPresence(t, srv, "bob", ch)
	ringing := startCall(context.Background(), srv, callParams("alice", "bob", "voice", 0))
	ch.waitInvite(t)
	wantCallReason(t, within(t, startCall(context.Background(), srv, callParams("carol", "bob", "voice", 0)),
		"call outcome").err, "listener_busy")

	registerPresence(t, srv, "dave", newCallRecorder())
	join(t, srv, "dave", "lobby", newRecorder())
	wantCallReason(t, within(t, startCall(context.Background(), srv, callParams("carol", "dave", "voice", 0)),
		"call outcome").err, "listener_busy")
	select {
	case r := <-ringing:
		t.Fatalf("the first call ended early: %+v", r)
	default:
	}
}

// The caller hangs up while it rings: the listener hears "remote".
func TestCallCancelledByCaller(t *testing.T) {
	srv := startServer(t, nil)
	ch := newCallRecorder()
	registerPresence(t, srv, "bob", ch)
	ctx, cancel := context.WithCancel(context.Background())
	res := startCall(ctx, srv, callParams("alice", "bob", "voice", 0))
	inv := ch.waitInvite(t)
	cancel()
	if r := within(t, res, "call outcome"); r.err == nil || ctx.Err() == nil {
		t.Fatalf("cancelled Call returned %+v", r)
	}
	if c := within(t, ch.cancelled, "CallCancelled"); c != [2]string{inv.CallID, "remote"} {
		t.Fatalf("CallCancelled%v", c)
	}
}

// A registration for someone else's openid with a wrong signature is
// refused and the owner still gets the calls; the owner registering again
// replaces its old presence.
func TestPresenceRegistration(t *testing.T) {
	srv := startServer(t, nil)
	ch := newCallRecorder()
	registerPresence(t, srv, "bob", ch)
	forged := presenceParams("mallory") // signed with mallory's key
	forged.OpenID = "bob"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mh := newCallRecorder()
	_, err := room.Register(ctx, callCfg(srv), forged, mh)
	wantCallReason(t, err, "signature")

	res := startCall(ctx, srv, callParams("alice", "bob", "voice", time.Second))
	ch.waitInvite(t)
	wantCallReason(t, within(t, res, "call outcome").err, "no_answer")

	ch2 := newCallRecorder()
	registerPresence(t, srv, "bob", ch2)
	wantCallReason(t, within(t, ch.lost, "PresenceLost"), "duplicate")
	startCall(ctx, srv, callParams("alice", "bob", "voice", time.Second))
	ch2.waitInvite(t)
	select {
	case inv := <-mh.invited:
		t.Fatalf("the forged registration was invited: %+v", inv)
	case inv := <-ch.invited:
		t.Fatalf("the replaced registration was invited: %+v", inv)
	default:
	}
}
