package room

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voipd/voipd/proto"
)

// PresenceParams registers this device as reachable for calls under its
// openid while the connection lives.
type PresenceParams struct {
	AppID, OpenID, NonceStr string
	TimeStamp               int64
	Signature               string // proto.Signature(appId, "1v1:"+openid, nonceStr, timeStamp, sessionKey)
}

// Invite is a call ringing at this device.
type Invite struct {
	CallID   string
	Caller   Party
	Listener Party
	RoomType string // "voice" or "video"
}

// CallHandler receives a presence's events, one at a time and in order, on
// a goroutine of the presence's own: a handler may call Answer (or Close)
// from it, and should not block it for long.
type CallHandler interface {
	Invited(inv Invite)                  // a call rings here; answer with Presence.Answer
	CallCancelled(callID, reason string) // before an answer: "remote" (caller hung up) or "no_answer"
	PresenceLost(err error)              // the presence connection dropped (not after Close)
}

// Presence is a registration for calls.
type Presence struct {
	cfg    Config
	appID  string
	conn   *websocket.Conn
	h      CallHandler
	log    *slog.Logger
	closed atomic.Bool

	writeMu  sync.Mutex
	readDone chan struct{}

	mu      sync.Mutex
	waiters map[string]chan *proto.Message // callId → its Answer's reply
	queue   []func()                       // handler calls not yet made
	wake    chan struct{}
}

// Register connects and registers; it returns once the server confirmed.
// Errors are *Error: signature, timestamp, replay, params, unreachable,
// timeout.
func Register(ctx context.Context, cfg Config, p PresenceParams, h CallHandler) (*Presence, error) {
	if h == nil {
		return nil, &Error{Reason: proto.ReasonParams, Msg: "room: nil CallHandler"}
	}
	cfg = callDefaults(cfg)
	conn, err := dialWS(ctx, cfg)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	err = registerOn(conn, cfg, p)
	if !stop() || err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("room: register cancelled: %w", ctx.Err())
		}
		return nil, err
	}
	pr := &Presence{
		cfg: cfg, appID: p.AppID, conn: conn, h: h,
		log:      cfg.Logger.With("openid", p.OpenID, "presence", true),
		readDone: make(chan struct{}),
		waiters:  map[string]chan *proto.Message{},
		wake:     make(chan struct{}, 1),
	}
	conn.SetPingHandler(func(data string) error {
		conn.SetReadDeadline(time.Now().Add(readWait))
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeWait))
	})
	go pr.readLoop()
	go pr.dispatch()
	return pr, nil
}

// registerOn sends register and waits for registered.
func registerOn(conn *websocket.Conn, cfg Config, p PresenceParams) error {
	if err := writeMsg(conn, &proto.Message{Type: proto.TypeRegister, AppID: p.AppID, OpenID: p.OpenID,
		NonceStr: p.NonceStr, TimeStamp: p.TimeStamp, Signature: p.Signature}); err != nil {
		return &Error{Reason: proto.ReasonUnreachable, Msg: "room: sending register: " + err.Error()}
	}
	conn.SetReadDeadline(time.Now().Add(cfg.JoinTimeout))
	for {
		msg, err := readMsg(conn)
		if err != nil {
			return &Error{Reason: proto.ReasonTimeout, Msg: "room: no answer to register: " + err.Error()}
		}
		switch msg.Type {
		case proto.TypeRegistered:
			return nil
		case proto.TypeError:
			return &Error{Reason: msg.Reason, Msg: "room: register refused: " + msg.Message}
		}
	}
}

// Answer accepts (returning the ticket for the call room) or declines
// (returning nil) the call. An *Error with reason "not_found" says the call
// is gone (hung up, timed out, answered elsewhere).
func (p *Presence) Answer(ctx context.Context, callID string, accept bool) (*CallTicket, error) {
	return p.answer(ctx, callID, accept, "")
}

// Busy declines the call as busy: this device is in a room or a call
// already, and the caller's call ends with listener_busy.
func (p *Presence) Busy(ctx context.Context, callID string) error {
	_, err := p.answer(ctx, callID, false, proto.ReasonListenerBusy)
	return err
}

func (p *Presence) answer(ctx context.Context, callID string, accept bool, reason string) (*CallTicket, error) {
	reply := make(chan *proto.Message, 1)
	p.mu.Lock()
	p.waiters[callID] = reply
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.waiters, callID)
		p.mu.Unlock()
	}()
	if err := p.write(&proto.Message{Type: proto.TypeCallAnswer, Reason: reason,
		CallFields: proto.CallFields{CallID: callID, Accept: &accept}}); err != nil {
		return nil, &Error{Reason: proto.ReasonUnreachable, Msg: "room: sending the answer: " + err.Error()}
	}
	timer := time.NewTimer(p.cfg.JoinTimeout)
	defer timer.Stop()
	select {
	case msg := <-reply:
		switch {
		case msg.Type == proto.TypeAccepted:
			return ticketOf(msg, p.appID), nil
		case !accept && msg.Reason == proto.ReasonDeclined:
			return nil, nil
		}
		return nil, &Error{Reason: proto.ReasonNotFound, Msg: "room: the call is gone: " + msg.Reason}
	case <-p.readDone:
		return nil, &Error{Reason: proto.ReasonUnreachable, Msg: "room: the presence connection is closed"}
	case <-timer.C:
		return nil, &Error{Reason: proto.ReasonTimeout, Msg: "room: no reply to the answer"}
	case <-ctx.Done():
		return nil, fmt.Errorf("room: answer: %w", ctx.Err())
	}
}

// Close unregisters. The handler gets no PresenceLost for it.
func (p *Presence) Close() error {
	if p.closed.Swap(true) {
		return nil
	}
	if p.write(&proto.Message{Type: proto.TypeLeave}) == nil {
		select { // let the server read the leave before the socket goes
		case <-p.readDone:
		case <-time.After(writeWait):
		}
	}
	p.conn.Close()
	<-p.readDone
	return nil
}

func (p *Presence) write(m *proto.Message) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	return writeMsg(p.conn, m)
}

func (p *Presence) readLoop() {
	var lost error
	defer func() {
		if !p.closed.Load() {
			p.log.Info("presence lost", "err", lost)
			p.post(func() {
				if !p.closed.Load() {
					p.h.PresenceLost(lost)
				}
			})
		}
		close(p.readDone)
	}()
	for {
		p.conn.SetReadDeadline(time.Now().Add(readWait))
		msg, err := readMsg(p.conn)
		if err != nil {
			lost = &Error{Reason: proto.ReasonUnreachable, Msg: "room: presence connection lost: " + err.Error()}
			return
		}
		switch msg.Type {
		case proto.TypeInvite:
			inv := Invite{CallID: msg.CallID, Caller: *msg.Caller, Listener: *msg.Listener, RoomType: msg.RoomType}
			p.log.Info("invited", "callId", inv.CallID, "caller", inv.Caller.OpenID, "roomType", inv.RoomType)
			p.post(func() { p.h.Invited(inv) })
		case proto.TypeAccepted, proto.TypeCallEnded:
			p.deliver(msg)
		case proto.TypePing:
			p.write(&proto.Message{Type: proto.TypePong})
		case proto.TypeError:
			lost = &Error{Reason: msg.Reason, Msg: "room: presence ended: " + msg.Message}
			return
		}
	}
}

// deliver hands an outcome to the Answer waiting for it, and tells the
// handler of a call that ended before an answer.
func (p *Presence) deliver(msg *proto.Message) {
	p.mu.Lock()
	w := p.waiters[msg.CallID]
	delete(p.waiters, msg.CallID)
	p.mu.Unlock()
	if w != nil {
		w <- msg
	}
	if msg.Type == proto.TypeCallEnded && (msg.Reason == proto.ReasonRemote || msg.Reason == proto.ReasonNoAnswer) {
		id, reason := msg.CallID, msg.Reason
		p.post(func() { p.h.CallCancelled(id, reason) })
	}
}

// post queues a handler call; the queue is unbounded so that the reader
// never waits for the handler.
func (p *Presence) post(f func()) {
	p.mu.Lock()
	p.queue = append(p.queue, f)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// dispatch makes the queued handler calls in order until the reader ended
// and the queue is empty.
func (p *Presence) dispatch() {
	for {
		done := false
		select {
		case <-p.wake:
		case <-p.readDone:
			done = true
		}
		for {
			p.mu.Lock()
			if len(p.queue) == 0 {
				p.mu.Unlock()
				break
			}
			f := p.queue[0]
			p.queue = p.queue[1:]
			p.mu.Unlock()
			f()
		}
		if done {
			return
		}
	}
}
