package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// callState is the listener side of two-party calls: whether this device
// is reachable (its presence on roomd) and the calls ringing here.
type callState struct {
	mu       sync.Mutex
	enabled  bool
	presence *room.Presence
	ringing  map[string]room.Invite
	stopRing func() // the ringtone of the ringing call
}

// party is the seed's caller/listener object, checked field by field.
type party struct {
	Nickname  *string `json:"nickname"`
	HeadImage string  `json:"headImage"`
	OpenID    *string `json:"openid"`
}

func (p *party) check(field string) (proto.Party, error) {
	switch {
	case p == nil:
		return proto.Party{}, control.InvalidParams(field, "is required")
	case p.Nickname == nil || *p.Nickname == "":
		return proto.Party{}, control.InvalidParams(field+".nickname", "is required")
	case p.OpenID == nil || *p.OpenID == "":
		return proto.Party{}, control.InvalidParams(field+".openid", "is required")
	}
	return proto.Party{Nickname: *p.Nickname, HeadImage: p.HeadImage, OpenID: *p.OpenID}, nil
}

func nonce() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sign signs purpose ("1v1:<openid>" or "call:<listener>") with this
// device's session key: the device proves it owns its openid.
func (d *Daemon) sign(purpose string) (nonceStr string, ts int64, sig string) {
	id := d.p.Config.Identity
	nonceStr, ts = nonce(), time.Now().Unix()
	return nonceStr, ts, proto.Signature(id.AppID, purpose, nonceStr, ts, id.SessionKey)
}

func (d *Daemon) join1v1Chat(ctx context.Context, r *control.Request) (map[string]any, error) {
	var p struct {
		Caller             *party  `json:"caller"`
		Listener           *party  `json:"listener"`
		RoomType           *string `json:"roomType"`
		BackgroundType     any     `json:"backgroundType"`
		MinWindowType      any     `json:"minWindowType"`
		DisableSwitchVoice bool    `json:"disableSwitchVoice"`
	}
	if err := decodeParams(r.Params, &p); err != nil {
		return nil, err
	}
	caller, err := p.Caller.check("caller")
	if err != nil {
		return nil, err
	}
	listener, err := p.Listener.check("listener")
	if err != nil {
		return nil, err
	}
	roomType := "video" // WeChat's default for calls
	if p.RoomType != nil {
		roomType = *p.RoomType
	}
	if roomType != "voice" && roomType != "video" {
		return nil, control.InvalidParams("roomType", "must be \"voice\" or \"video\"")
	}
	self := d.p.Config.Identity.OpenID
	if caller.OpenID != self {
		return nil, control.InvalidParams("caller.openid", "must be this device's openid "+self)
	}
	if listener.OpenID == self {
		return nil, control.InvalidParams("listener.openid", "cannot call this device itself")
	}
	if err := d.callAllowed(r, roomType); err != nil {
		return nil, err
	}
	cfg := d.p.Config
	var ticket *room.CallTicket
	_, err = d.runJoin(ctx, joinSpec{
		kind: kind1v1, id: "calling:" + listener.OpenID, roomType: roomType, owner: r.ClientID,
		noSwitchVoice: p.DisableSwitchVoice,
		connect: func(ctx context.Context, h *roomHandler) (*room.Session, error) {
			stop := media.Ring(h.s.playbackDevice(), media.Ringback, nil, d.volume)
			nonceStr, ts, sig := d.sign("call:" + listener.OpenID)
			t, err := room.Call(ctx, d.roomConfig(), room.CallParams{
				AppID: cfg.Identity.AppID, NonceStr: nonceStr, TimeStamp: ts, Signature: sig,
				Caller: caller, Listener: listener, RoomType: roomType, RingTimeout: cfg.Call.RingTimeout.D(),
			})
			stop()
			if err != nil {
				return nil, err
			}
			ticket = t
			h.s.setCall(t.CallID)
			return room.JoinCall(ctx, d.roomConfig(), d.callTicket(t), self, h)
		},
		onJoined: d.watchCallPeer,
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"callId": ticket.CallID}, nil
}

// callPeerWait bounds how long a call waits for the other side to enter its
// room after the answer; roomd keeps a lone member forever.
const callPeerWait = 15 * time.Second

// watchCallPeer ends a call whose other side never arrives.
func (d *Daemon) watchCallPeer(s *session) {
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for deadline := time.Now().Add(callPeerWait); time.Now().Before(deadline); <-tick.C {
			s.mu.Lock()
			n, leaving := len(s.members), s.leaving
			s.mu.Unlock()
			if n >= 2 || leaving {
				return
			}
		}
		d.log.Warn("the other side never joined the call", "call", s.callID)
		d.endCall(s, "network")
	}()
}

// callAllowed runs the checks every call makes before any device opens.
func (d *Daemon) callAllowed(r *control.Request, roomType string) error {
	if !d.p.Config.Call.Allowed {
		return fail(kindCallOff, reasonDisabled, "two-party calls are switched off (call.allowed)")
	}
	if err := d.checkScope(r.Method, r.Peer, "scope.record", d.p.Config.Scopes.Record); err != nil {
		return err
	}
	if roomType == "video" {
		if err := d.checkScope(r.Method, r.Peer, "scope.camera", d.p.Config.Scopes.Camera); err != nil {
			return err
		}
		if !d.hasCameraDevice() {
			return fail(kindNoDevice, reasonAbsent, "a video call needs a camera and this device has none")
		}
	}
	return nil
}

// hasCameraDevice says whether the configured camera can exist here: a
// synthetic pattern always does, a real one when any camera is listed.
func (d *Daemon) hasCameraDevice() bool {
	if d.p.Cameras == nil {
		return false
	}
	if strings.HasPrefix(d.p.Config.Video.Camera, "pattern") {
		return true
	}
	list, err := d.p.Cameras.Cameras()
	return err == nil && len(list) > 0
}

func (d *Daemon) setEnable1v1Chat(ctx context.Context, r *control.Request) (map[string]any, error) {
	var p struct {
		Enable *bool `json:"enable"`
	}
	if err := decodeParams(r.Params, &p); err != nil {
		return nil, err
	}
	if p.Enable == nil {
		return nil, control.InvalidParams("enable", "is required")
	}
	if !d.p.Config.Call.Allowed {
		return nil, fail(kindCallOff, reasonDisabled, "two-party calls are switched off (call.allowed)")
	}
	if !*p.Enable {
		d.disableCalls()
		return nil, nil
	}
	if err := d.enableCalls(ctx); err != nil {
		return nil, err
	}
	return nil, nil
}

// enableCalls registers this device's presence on roomd (signed with its
// session key, so no device can take another's openid).
func (d *Daemon) enableCalls(ctx context.Context) error {
	c := &d.calls
	c.mu.Lock()
	if c.presence != nil {
		c.enabled = true
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	id := d.p.Config.Identity
	nonceStr, ts, sig := d.sign("1v1:" + id.OpenID)
	p, err := room.Register(ctx, d.roomConfig(), room.PresenceParams{
		AppID: id.AppID, OpenID: id.OpenID, NonceStr: nonceStr, TimeStamp: ts, Signature: sig,
	}, callHandler{d})
	if err != nil {
		return err
	}
	c.mu.Lock()
	old := c.presence
	c.presence, c.enabled = p, true
	if c.ringing == nil {
		c.ringing = map[string]room.Invite{}
	}
	c.mu.Unlock()
	if old != nil {
		old.Close()
	}
	d.log.Info("reachable for calls", "openid", id.OpenID)
	return nil
}

func (d *Daemon) disableCalls() {
	c := &d.calls
	c.mu.Lock()
	p := c.presence
	c.presence, c.enabled = nil, false
	stop := c.stopRing
	c.stopRing = nil
	c.ringing = map[string]room.Invite{}
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
	if p != nil {
		p.Close()
	}
}

// StartCalls registers for calls at start when the config says so, and
// keeps trying in the background while roomd cannot be reached.
func (d *Daemon) StartCalls(ctx context.Context) {
	if !d.p.Config.Call.Enable {
		return
	}
	go d.keepPresence(ctx, nil)
}

// keepPresence (re-)registers until it succeeds or ctx ends.
func (d *Daemon) keepPresence(ctx context.Context, lost error) {
	if lost != nil {
		d.log.Warn("presence lost; registering again", "err", lost)
	}
	for delay := 200 * time.Millisecond; ; delay = min(2*delay, 10*time.Second) {
		c := &d.calls
		c.mu.Lock()
		want := c.enabled || (lost == nil && d.p.Config.Call.Enable)
		c.mu.Unlock()
		if !want {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, d.p.Config.Room.JoinTimeout.D())
		err := d.enableCalls(rctx)
		cancel()
		if err == nil {
			return
		}
		d.log.Warn("register for calls", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

// callHandler receives this device's invitations.
type callHandler struct{ d *Daemon }

func (h callHandler) Invited(inv room.Invite) {
	d := h.d
	c := &d.calls
	c.mu.Lock()
	c.ringing[inv.CallID] = inv
	stopOld := c.stopRing
	c.mu.Unlock()
	if stopOld != nil {
		stopOld()
	}
	d.publish("on1v1ChatInvite", map[string]any{"callId": inv.CallID, "caller": inv.Caller, "roomType": inv.RoomType})
	stop := d.ringStandalone()
	c.mu.Lock()
	c.stopRing = stop
	c.mu.Unlock()
	if d.p.Config.Call.AutoAnswer {
		go func() {
			time.Sleep(d.p.Config.Call.AutoAnswerDelay.D())
			if _, err := d.answer(context.Background(), 0, inv.CallID, true); err != nil {
				d.log.Warn("auto-answer", "call", inv.CallID, "err", err)
			}
		}()
	}
}

func (h callHandler) CallCancelled(callID, reason string) {
	d := h.d
	if !d.takeInvite(callID) {
		return
	}
	d.publish("on1v1ChatEnded", map[string]any{"callId": callID, "reason": "remote", "detail": reason})
}

func (h callHandler) PresenceLost(err error) {
	d := h.d
	c := &d.calls
	c.mu.Lock()
	c.presence = nil
	enabled := c.enabled
	c.mu.Unlock()
	if enabled {
		go d.keepPresence(context.Background(), err)
	}
}

// takeInvite removes a ringing call and stops the ringtone; false if it was
// not ringing.
func (d *Daemon) takeInvite(callID string) bool {
	c := &d.calls
	c.mu.Lock()
	_, ok := c.ringing[callID]
	delete(c.ringing, callID)
	stop := c.stopRing
	if ok {
		c.stopRing = nil
	}
	c.mu.Unlock()
	if ok && stop != nil {
		stop()
	}
	return ok
}

func (d *Daemon) answer1v1Chat(ctx context.Context, r *control.Request) (map[string]any, error) {
	var p struct {
		CallID *string `json:"callId"`
		Accept *bool   `json:"accept"`
	}
	if err := decodeParams(r.Params, &p); err != nil {
		return nil, err
	}
	if p.CallID == nil || *p.CallID == "" {
		return nil, control.InvalidParams("callId", "is required")
	}
	if p.Accept == nil {
		return nil, control.InvalidParams("accept", "is required")
	}
	c := &d.calls
	c.mu.Lock()
	inv, ok := c.ringing[*p.CallID]
	c.mu.Unlock()
	if !ok {
		return nil, fail(kindSystem, reasonParams, "no call %s is ringing here", *p.CallID)
	}
	if *p.Accept {
		if err := d.callAllowed(r, inv.RoomType); err != nil {
			return nil, err
		}
	}
	return d.answer(ctx, r.ClientID, *p.CallID, *p.Accept)
}

// answer declines, or accepts and joins the call's room.
func (d *Daemon) answer(ctx context.Context, owner uint64, callID string, accept bool) (map[string]any, error) {
	c := &d.calls
	c.mu.Lock()
	inv, ok := c.ringing[callID]
	pres := c.presence
	c.mu.Unlock()
	if !ok || pres == nil {
		return nil, fail(kindSystem, reasonParams, "no call %s is ringing here", callID)
	}
	d.takeInvite(callID)
	if !accept {
		if _, err := pres.Answer(ctx, callID, false); err != nil {
			return nil, err
		}
		return nil, nil
	}
	self := d.p.Config.Identity.OpenID
	_, err := d.runJoin(ctx, joinSpec{
		kind: kind1v1, id: callID, roomType: inv.RoomType, owner: owner,
		connect: func(ctx context.Context, h *roomHandler) (*room.Session, error) {
			t, err := pres.Answer(ctx, callID, true)
			if err != nil {
				return nil, err
			}
			h.s.setCall(t.CallID)
			return room.JoinCall(ctx, d.roomConfig(), d.callTicket(t), self, h)
		},
		onJoined: d.watchCallPeer,
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"callId": callID}, nil
}

// endCall ends a call the other side left.
func (d *Daemon) endCall(s *session, reason string) {
	d.publishCallEnded(s, reason)
	d.leave(context.Background(), s, "call ended: "+reason)
}

func (s *session) setCall(callID string) {
	s.mu.Lock()
	s.callID, s.id = callID, callID
	s.mu.Unlock()
}

func (s *session) playbackDevice() (p interface{ Write([]int16) error }) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.playback == nil {
		return nil
	}
	return s.playback
}

// callTicket is the ticket this device joins a call's room with: a device
// with a camera joins ready for video even in a voice call, so the call can
// switch to video later (switch1v1Chat) without a new negotiation.
func (d *Daemon) callTicket(t *room.CallTicket) *room.CallTicket {
	if !d.hasCameraDevice() {
		return t
	}
	c := *t
	c.RoomType = "video"
	return &c
}

// switch1v1Chat is voipd's own addition: a call switches between voice and
// video, as WeChat's call window does, unless the caller set
// disableSwitchVoice (then a video call stays video).
func (d *Daemon) switch1v1Chat(ctx context.Context, r *control.Request) (map[string]any, error) {
	var p struct {
		RoomType *string `json:"roomType"`
	}
	if err := decodeParams(r.Params, &p); err != nil {
		return nil, err
	}
	if p.RoomType == nil || (*p.RoomType != "voice" && *p.RoomType != "video") {
		return nil, control.InvalidParams("roomType", "must be \"voice\" or \"video\"")
	}
	s, st := d.current()
	if st != stateInRoom || s.kind != kind1v1 {
		return nil, fail(kindSystem, reasonNotInRoom, "not in a call")
	}
	s.mu.Lock()
	cur, video, noVoice := s.roomType, s.video, s.noSwitchVoice
	s.mu.Unlock()
	want := *p.RoomType
	switch {
	case want == cur:
		return map[string]any{"roomType": cur}, nil
	case want == "voice" && noVoice:
		return nil, fail(kindSystem, reasonDisabled, "this call does not switch to voice (disableSwitchVoice)")
	case want == "voice":
		if video != nil {
			video.stopSending()
		}
	case video == nil:
		return nil, fail(kindNoDevice, reasonAbsent, "this device has no camera to switch to video")
	default:
		if err := d.checkScope(r.Method, r.Peer, "scope.camera", d.p.Config.Scopes.Camera); err != nil {
			return nil, err
		}
		cam, err := d.openCamera()
		if err != nil {
			return nil, &failure{kind: kindDevice, device: "camera", reason: reasonOf(err), detail: "camera " + d.p.Config.Video.Camera, cause: err}
		}
		if err := video.start(cam); err != nil {
			cam.Close()
			return nil, err
		}
	}
	s.mu.Lock()
	s.roomType = want
	s.mu.Unlock()
	d.publish("on1v1ChatSwitched", map[string]any{"callId": s.callID, "roomType": want})
	return map[string]any{"roomType": want}, nil
}
