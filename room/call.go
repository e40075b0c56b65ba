package room

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/voipd/voipd/proto"
)

// Two-party calls (join1v1Chat): a caller rings a listener's presence
// (Register, call_presence.go) with Call; once the listener accepts, each
// side holds a one-time ticket and joins the call's private room with
// JoinCall, an ordinary Session from there.

// A Party is the seed's caller/listener object.
type Party = proto.Party

// CallParams is a signed call, as the operator's backend issued it.
type CallParams struct {
	AppID, NonceStr string
	TimeStamp       int64
	Signature       string // proto.Signature(appId, "call:"+listener.OpenID, nonceStr, timeStamp, callerSessionKey)
	Caller          Party
	Listener        Party
	RoomType        string        // "voice" or "video"
	RingTimeout     time.Duration // the server ends the ring after it ("no_answer"); 0: the server's default
}

// CallTicket admits one side of an accepted call to its room, once.
type CallTicket struct {
	CallID, RoomID, Ticket string
	Peer                   string // the other side's openid
	RoomType               string
	AppID                  string // the app the call belongs to (the join names it)
	// Resume, instead of Ticket (single-use, spent at the first join), is
	// the resume ticket of this device's seat in the call room
	// (Session.Ticket): the device back after a restart of its own.
	Resume string
}

// serverRingMax is roomd's default cap on a ring: a Call without a
// RingTimeout waits at most this (plus the join timeout) for the outcome.
const serverRingMax = 60 * time.Second

// Call rings the listener and returns once it answered. *Error reasons:
// "declined", "no_answer", "offline" (no presence for that openid),
// "listener_busy", plus signature/timestamp/replay/params/unreachable/
// timeout. ctx ending hangs up the ringing call (the listener gets
// CallCancelled "remote") and Call returns an error wrapping ctx.Err().
func Call(ctx context.Context, cfg Config, p CallParams) (*CallTicket, error) {
	cfg = callDefaults(cfg)
	conn, err := dialWS(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var (
		mu     sync.Mutex // one writer at a time; callID is read by the hangup
		callID string
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		if callID != "" {
			writeMsg(conn, &proto.Message{Type: proto.TypeHangup, CallFields: proto.CallFields{CallID: callID}})
		}
		mu.Unlock()
		conn.Close()
	})
	defer stop()
	caller, listener := p.Caller, p.Listener
	mu.Lock()
	err = writeMsg(conn, &proto.Message{
		Type: proto.TypeCall, AppID: p.AppID, NonceStr: p.NonceStr, TimeStamp: p.TimeStamp,
		Signature: p.Signature, RoomType: p.RoomType,
		CallFields: proto.CallFields{Caller: &caller, Listener: &listener, RingTimeoutMs: p.RingTimeout.Milliseconds()},
	})
	mu.Unlock()
	if err != nil {
		return nil, callIOError(ctx, "sending call", err)
	}
	// Until ringing the server answers at once; then the ring itself,
	// bounded by the server, decides.
	conn.SetReadDeadline(time.Now().Add(cfg.JoinTimeout))
	for {
		msg, err := readMsg(conn)
		if err != nil {
			var ne net.Error
			if ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
				return nil, &Error{Reason: proto.ReasonTimeout, Msg: "room: no answer to the call from the room server"}
			}
			return nil, callIOError(ctx, "waiting for the call's outcome", err)
		}
		switch msg.Type {
		case proto.TypeRinging:
			mu.Lock()
			callID = msg.CallID
			mu.Unlock()
			ring := p.RingTimeout
			if ring <= 0 {
				ring = serverRingMax
			}
			conn.SetReadDeadline(time.Now().Add(ring + cfg.JoinTimeout))
		case proto.TypeAccepted:
			return ticketOf(msg, p.AppID), nil
		case proto.TypeCallEnded:
			return nil, &Error{Reason: msg.Reason, Msg: fmt.Sprintf("room: call to %s ended: %s", p.Listener.OpenID, msg.Reason)}
		case proto.TypeError:
			return nil, &Error{Reason: msg.Reason, Msg: "room: call refused: " + msg.Message}
		case proto.TypePing:
			mu.Lock()
			writeMsg(conn, &proto.Message{Type: proto.TypePong})
			mu.Unlock()
		}
	}
}

// JoinCall joins the call's private two-member room with the server-issued
// one-time ticket; then it is an ordinary Session (audio, video when
// RoomType "video", MembersChanged, Leave). When the other side leaves,
// this side gets MembersChanged with itself alone.
func JoinCall(ctx context.Context, cfg Config, t *CallTicket, openid string, h Handler) (*Session, error) {
	if t == nil || t.RoomID == "" || (t.Ticket == "" && t.Resume == "") || openid == "" {
		return nil, &Error{Reason: proto.ReasonParams, Msg: "room: JoinCall needs a ticket and an openid"}
	}
	p := JoinParams{AppID: t.AppID, OpenID: openid, GroupID: t.RoomID, RoomType: t.RoomType}
	msg := &proto.Message{Type: proto.TypeJoin, Kind: proto.Kind1v1, AppID: t.AppID, OpenID: openid,
		RoomType: t.RoomType, CallFields: proto.CallFields{RoomID: t.RoomID, Ticket: t.Ticket}}
	if t.Resume != "" {
		msg.Ticket, msg.Resume = "", t.Resume
	}
	return joinWith(ctx, cfg, p, h, msg)
}

func ticketOf(msg *proto.Message, appID string) *CallTicket {
	return &CallTicket{CallID: msg.CallID, RoomID: msg.RoomID, Ticket: msg.Ticket, Peer: msg.Peer,
		RoomType: msg.RoomType, AppID: appID}
}

func callDefaults(cfg Config) Config {
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = defaultJoinTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// callIOError reports a failed read or write of a call socket: the
// context's end if that closed it, else a lost connection.
func callIOError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("room: call cancelled: %w", ctx.Err())
	}
	return &Error{Reason: proto.ReasonUnreachable, Msg: "room: " + what + ": " + err.Error()}
}

// DialWebSocket opens a WebSocket to url with header h, bounded by ctx:
// gorilla bounds the handshake by ctx's deadline but does not watch its
// cancellation, so the TCP connection is closed here when ctx ends first.
// bufSize sizes the read and write buffers.
func DialWebSocket(ctx context.Context, url string, tlsCfg *tls.Config, h http.Header, bufSize int) (*websocket.Conn, *http.Response, error) {
	var mu sync.Mutex
	var stops []func() bool
	d := websocket.Dialer{
		TLSClientConfig: tlsCfg, ReadBufferSize: bufSize, WriteBufferSize: bufSize,
		NetDialContext: func(c context.Context, network, addr string) (net.Conn, error) {
			var nd net.Dialer
			nc, err := nd.DialContext(c, network, addr)
			if err == nil {
				mu.Lock()
				stops = append(stops, context.AfterFunc(ctx, func() { nc.Close() }))
				mu.Unlock()
			}
			return nc, err
		},
	}
	conn, resp, err := d.DialContext(ctx, url, h)
	mu.Lock()
	for _, stop := range stops {
		stop()
	}
	mu.Unlock()
	return conn, resp, err
}

// dialWS opens a signalling socket to cfg.URL, bounded by ctx and
// cfg.JoinTimeout.
func dialWS(ctx context.Context, cfg Config) (*websocket.Conn, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return nil, &Error{Reason: proto.ReasonParams, Msg: fmt.Sprintf("room: URL %q is not a ws:// or wss:// URL", cfg.URL)}
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.JoinTimeout)
	defer cancel()
	conn, resp, err := DialWebSocket(dctx, u.String(), cfg.TLS, nil, 4096)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("room: cancelled: %w", ctx.Err())
		}
		if dctx.Err() != nil {
			return nil, &Error{Reason: proto.ReasonTimeout, Msg: "room: cannot connect to " + u.Host + " in time"}
		}
		return nil, dialError(u.Host, resp, err)
	}
	conn.SetReadLimit(proto.MaxMessageBytes)
	return conn, nil
}

func writeMsg(conn *websocket.Conn, m *proto.Message) error {
	conn.SetWriteDeadline(time.Now().Add(writeWait))
	return conn.WriteJSON(m)
}

// readMsg reads the next message this client understands, skipping those
// it does not (a newer server may send them).
func readMsg(conn *websocket.Conn) (*proto.Message, error) {
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			return nil, err
		}
		if msg, err := proto.Decode(b); err == nil {
			return msg, nil
		}
	}
}
