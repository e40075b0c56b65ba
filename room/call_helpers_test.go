package room_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

// callRecorder is a CallHandler recording its events on channels.
type callRecorder struct {
	invited   chan room.Invite
	cancelled chan [2]string // callId, reason
	lost      chan error
}

func newCallRecorder() *callRecorder {
	return &callRecorder{
		invited:   make(chan room.Invite, 8),
		cancelled: make(chan [2]string, 8),
		lost:      make(chan error, 2),
	}
}

func (c *callRecorder) Invited(inv room.Invite)         { c.invited <- inv }
func (c *callRecorder) CallCancelled(id, reason string) { c.cancelled <- [2]string{id, reason} }
func (c *callRecorder) PresenceLost(err error)          { c.lost <- err }
func (c *callRecorder) waitInvite(t *testing.T) room.Invite {
	t.Helper()
	return within(t, c.invited, "Invited")
}

// recv waits (bounded) for one value.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("no %s", what)
	}
	var zero T
	return zero
}

func presenceParams(openid string) room.PresenceParams {
	s := roomd.Sign(testApp, openid, proto.PresenceGroup(openid), time.Now())
	return room.PresenceParams{AppID: s.AppID, OpenID: openid, NonceStr: s.NonceStr, TimeStamp: s.TimeStamp,
		Signature: s.Signature}
}

func callParams(caller, listener, roomType string, ring time.Duration) room.CallParams {
	s := roomd.Sign(testApp, caller, proto.CallGroup(listener), time.Now())
	return room.CallParams{AppID: s.AppID, NonceStr: s.NonceStr, TimeStamp: s.TimeStamp, Signature: s.Signature,
		Caller:   room.Party{Nickname: "Caller " + caller, OpenID: caller},
		Listener: room.Party{Nickname: "Listener " + listener, OpenID: listener},
		RoomType: roomType, RingTimeout: ring}
}

func callCfg(srv *roomd.Server) room.Config {
	return room.Config{URL: wsURL(srv), Logger: testLogger()}
}

func registerPresence(t *testing.T, srv *roomd.Server, openid string, h room.CallHandler) *room.Presence {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := room.Register(ctx, callCfg(srv), presenceParams(openid), h)
	if err != nil {
		t.Fatalf("%s: register: %v", openid, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type callResult struct {
	ticket *room.CallTicket
	err    error
}

// startCall places a call in the background; its outcome arrives on the
// channel.
func startCall(ctx context.Context, srv *roomd.Server, p room.CallParams) <-chan callResult {
	out := make(chan callResult, 1)
	go func() {
		cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		tk, err := room.Call(cctx, callCfg(srv), p)
		out <- callResult{tk, err}
	}()
	return out
}

// wantReason fails unless err is a *room.Error with reason.
func wantCallReason(t *testing.T, err error, reason string) {
	t.Helper()
	var re *room.Error
	if !errors.As(err, &re) || re.Reason != reason {
		t.Fatalf("error %v, want reason %q", err, reason)
	}
}

func joinCall(t *testing.T, srv *roomd.Server, tk *room.CallTicket, openid string, h room.Handler) *room.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := room.JoinCall(ctx, callCfg(srv), tk, openid, h)
	if err != nil {
		t.Fatalf("%s: JoinCall: %v", openid, err)
	}
	t.Cleanup(func() { s.Leave(context.Background()) })
	return s
}

// answer answers the call and fails the test on an error.
func answerCall(t *testing.T, p *room.Presence, callID string, accept bool) *room.CallTicket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tk, err := p.Answer(ctx, callID, accept)
	if err != nil {
		t.Fatalf("Answer(%s, %v): %v", callID, accept, err)
	}
	return tk
}
