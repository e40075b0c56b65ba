package session

import (
	"context"
	"time"

	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/room"
)

// listener is the listener side of two-party calls: whether this device is
// reachable (its presence on the room server) and the calls ringing here.
// Its fields are guarded by Engine.mu.
type listener struct {
	enabled  bool
	presence Presence
	ringing  map[string]room.Invite
	stopRing func() // the ringtone of the ringing call
}

func (e *Engine) listenerStatus() ListenerStatus {
	c := &e.calls
	return ListenerStatus{Allowed: e.cfg.Call.Allowed, Enabled: c.enabled, Reachable: c.presence != nil, Ringing: len(c.ringing)}
}

// EnableCalls registers this device's presence on the room server (signed
// with its session key, so no device can take another's openid).
func (e *Engine) EnableCalls(ctx context.Context) error {
	e.mu.Lock()
	if e.calls.presence != nil {
		e.calls.enabled = true
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()
	id := e.cfg.Identity
	nonceStr, ts, sig := e.sign("1v1:" + id.OpenID)
	p, err := e.p.Rooms.Register(ctx, room.PresenceParams{
		AppID: id.AppID, OpenID: id.OpenID, NonceStr: nonceStr, TimeStamp: ts, Signature: sig,
	}, callHandler{e})
	if err != nil {
		return err
	}
	e.mu.Lock()
	old := e.calls.presence
	e.calls.presence, e.calls.enabled = p, true
	if e.calls.ringing == nil {
		e.calls.ringing = map[string]room.Invite{}
	}
	e.mu.Unlock()
	if old != nil {
		old.Close()
	}
	e.log.Info("reachable for calls", "openid", id.OpenID)
	return nil
}

// DisableCalls stops being reachable and silences a ringing call.
func (e *Engine) DisableCalls() {
	e.mu.Lock()
	p, stop := e.calls.presence, e.calls.stopRing
	e.calls = listener{ringing: map[string]room.Invite{}}
	e.mu.Unlock()
	if stop != nil {
		stop()
	}
	if p != nil {
		p.Close()
	}
}

// StartCalls registers for calls at start when the config says so, and
// keeps trying in the background while the room server cannot be reached.
func (e *Engine) StartCalls(ctx context.Context) {
	if e.cfg.Call.Enable {
		go e.keepPresence(ctx, nil)
	}
}

// keepPresence (re-)registers until it succeeds or ctx ends.
func (e *Engine) keepPresence(ctx context.Context, lost error) {
	if lost != nil {
		e.log.Warn("presence lost; registering again", "err", lost)
	}
	for delay := 200 * time.Millisecond; ; delay = min(2*delay, 10*time.Second) {
		e.mu.Lock()
		want := e.calls.enabled || (lost == nil && e.cfg.Call.Enable)
		e.mu.Unlock()
		if !want {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, e.cfg.Room.JoinTimeout.D())
		err := e.EnableCalls(rctx)
		cancel()
		if err == nil {
			return
		}
		e.log.Warn("register for calls", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// Ringing returns the call ringing here with id callID.
func (e *Engine) Ringing(callID string) (room.Invite, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inv, ok := e.calls.ringing[callID]
	return inv, ok
}

// Answer declines a ringing call, or accepts it and joins its room.
func (e *Engine) Answer(ctx context.Context, owner uint64, callID string, accept bool) (Joined, error) {
	e.mu.Lock()
	inv, ok := e.calls.ringing[callID]
	pres := e.calls.presence
	e.mu.Unlock()
	if !ok || pres == nil {
		return Joined{}, Fail(ErrSystem, ReasonParams, "no call %s is ringing here", callID)
	}
	e.takeInvite(callID)
	if !accept {
		if _, err := pres.Answer(ctx, callID, false); err != nil {
			return Joined{}, err
		}
		return Joined{}, nil
	}
	return e.Join(ctx, owner, answer{callID: callID, roomType: inv.RoomType, presence: pres})
}

// takeInvite removes a ringing call and stops the ringtone; false if it was
// not ringing.
func (e *Engine) takeInvite(callID string) bool {
	e.mu.Lock()
	_, ok := e.calls.ringing[callID]
	delete(e.calls.ringing, callID)
	stop := e.calls.stopRing
	if ok {
		e.calls.stopRing = nil
	}
	e.mu.Unlock()
	if ok && stop != nil {
		stop()
	}
	return ok
}

// ring opens the speaker for the ringtone of an incoming call and closes
// it when stopped. A device that is no longer idle (it joined a room as
// the invitation arrived; one already in a room answers busy, Invited)
// rings nothing: the invitation event still tells the UI.
func (e *Engine) ring() (stop func()) {
	if e.State() != Idle {
		return func() {}
	}
	p, err := e.p.Audio.OpenPlayback(e.cfg.Audio.Playback)
	if err != nil {
		e.log.Warn("ringtone: speaker", "err", err)
		return func() {}
	}
	stopRing := media.Ring(p, media.Ringtone, e.p.Ringtone, e.vol)
	return func() {
		stopRing()
		p.Close()
	}
}

// callHandler receives this device's invitations (room.CallHandler).
type callHandler struct{ e *Engine }

func (h callHandler) Invited(inv room.Invite) {
	e := h.e
	if st := e.State(); st != Idle {
		// In a room or a call already: the caller hears listener_busy,
		// as when the server sees the room (a gateway cannot see rooms
		// on LiveKit, nor a server rooms on another).
		e.mu.Lock()
		pres := e.calls.presence
		e.mu.Unlock()
		if pres != nil {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := pres.Busy(ctx, inv.CallID); err != nil {
					e.log.Warn("declining a call as busy", "call", inv.CallID, "err", err)
				}
			}()
			e.log.Info("call declined: busy", "call", inv.CallID, "caller", inv.Caller.OpenID, "state", st.String())
			return
		}
	}
	e.mu.Lock()
	e.calls.ringing[inv.CallID] = inv
	stopOld := e.calls.stopRing
	e.calls.stopRing = nil
	e.mu.Unlock()
	if stopOld != nil {
		stopOld()
	}
	e.p.Events.Emit(CallInvited{CallID: inv.CallID, Caller: inv.Caller, RoomType: inv.RoomType})
	stop := e.ring()
	e.mu.Lock()
	if _, still := e.calls.ringing[inv.CallID]; still {
		e.calls.stopRing, stop = stop, nil
	}
	e.mu.Unlock()
	if stop != nil {
		stop() // answered or cancelled while the speaker opened
	}
	if e.cfg.Call.AutoAnswer {
		go func() {
			time.Sleep(e.cfg.Call.AutoAnswerDelay.D())
			if _, err := e.Answer(context.Background(), 0, inv.CallID, true); err != nil {
				e.log.Warn("auto-answer", "call", inv.CallID, "err", err)
			}
		}()
	}
}

func (h callHandler) CallCancelled(callID, reason string) {
	if h.e.takeInvite(callID) {
		h.e.p.Events.Emit(CallCancelled{CallID: callID, Reason: reason})
	}
}

func (h callHandler) PresenceLost(err error) {
	e := h.e
	e.mu.Lock()
	e.calls.presence = nil
	enabled := e.calls.enabled
	e.mu.Unlock()
	if enabled {
		go e.keepPresence(context.Background(), err)
	}
}
