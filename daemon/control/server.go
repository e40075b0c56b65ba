package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Request is one JSON-RPC request as a Handler sees it.
type Request struct {
	ID       json.RawMessage // nil for a notification, which gets no answer
	Method   string
	Params   json.RawMessage // nil when absent or null
	Peer     Peer            // the connected process's credentials
	ClientID uint64          // unique per connection for the server's lifetime
}

// Handler serves every method but the built-in subscribe and unsubscribe.
// ServeRPC runs in its own goroutine per request. Its ctx ends when the
// client's connection fails or the server closes. The result is sent as the
// answer's "result" as is; an *Error (possibly wrapped) chooses the error
// answer, ErrMethodNotFound gives -32601, any other error -32603.
type Handler interface {
	ServeRPC(ctx context.Context, r *Request) (result any, err error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, r *Request) (any, error)

// ServeRPC calls f.
func (f HandlerFunc) ServeRPC(ctx context.Context, r *Request) (any, error) { return f(ctx, r) }

// Config tunes a Server. Zero fields take the defaults.
type Config struct {
	MaxClients int // connections served at once; default 16
	// MaxClientsPerUser bounds one peer uid's connections, so that one
	// user's flood leaves room for the others. Default half of MaxClients.
	MaxClientsPerUser int
	// Reserved of MaxClients are kept for root and Trusted peers (the
	// kiosk's UI): others are refused once only these are left. Default a
	// quarter of MaxClients; negative: none.
	Reserved int
	// Trusted says whether a peer (besides root) may use the reserve.
	Trusted func(Peer) bool
	// LineTimeout closes a connection whose client started a line and did
	// not end it within this (answering -32600 first). Default 10s.
	LineTimeout time.Duration
	// IdleTimeout closes a connection that has sent no request for this
	// long, has none in flight and is subscribed to nothing. Default 60s.
	IdleTimeout time.Duration
	// Events are the event names subscribe and unsubscribe accept besides
	// "*"; a name not in it is refused (-32602). Nil: any name.
	Events     []string
	EventQueue int // events waiting per subscriber before it is dropped; default 256
	MaxLine    int // longest request line in bytes, newline excluded; default 64 KiB
	// WriteTimeout bounds one write to a client; a client that does not read
	// for that long is dropped. Default 5s. It also bounds how long Close
	// can spend flushing to a stuck client.
	WriteTimeout time.Duration
	Logger       *slog.Logger // default slog.Default()
	// OnDisconnect, if set, is called once per client after its connection
	// is closed and all its goroutines ended (e.g. to release a call the
	// client held).
	OnDisconnect func(clientID uint64)
}

// Stats are the server's counters, for the daemon's status.
type Stats struct {
	Clients            int    `json:"clients"`
	DroppedSubscribers uint64 `json:"droppedSubscribers"`
	Requests           uint64 `json:"requests"`
	// Refused counts connections refused for a limit (busy); TimedOut
	// those closed for a line not ended or for idling (LineTimeout,
	// IdleTimeout).
	Refused  uint64 `json:"refused"`
	TimedOut uint64 `json:"timedOut"`
}

// maxInFlight bounds the requests of one client being served or waiting to
// be written: beyond it the reader stops reading, so a client that floods
// requests and never reads its answers costs a fixed amount of memory.
const maxInFlight = 64

// Server is a JSON-RPC 2.0 server over stream connections.
type Server struct {
	cfg Config
	h   Handler
	log *slog.Logger

	mu        sync.RWMutex
	conns     map[*conn]struct{}
	perUID    map[uint32]int // connections per peer uid
	listeners map[net.Listener]struct{}
	closed    bool

	nextID   atomic.Uint64
	requests atomic.Uint64
	dropped  atomic.Uint64
	timedOut atomic.Uint64

	refusals refusalLog

	// pending counts requests with an id from the moment they are read until
	// their answer is written or discarded; idle is closed while it is 0.
	pmu     sync.Mutex
	pending int
	idle    chan struct{}

	wg sync.WaitGroup // connections and running handlers
}

// NewServer returns a server that sends requests to h.
func NewServer(cfg Config, h Handler) *Server {
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 16
	}
	if cfg.MaxClientsPerUser <= 0 {
		cfg.MaxClientsPerUser = max(1, cfg.MaxClients/2)
	}
	switch {
	case cfg.Reserved == 0:
		cfg.Reserved = cfg.MaxClients / 4
	case cfg.Reserved < 0:
		cfg.Reserved = 0
	}
	if cfg.LineTimeout <= 0 {
		cfg.LineTimeout = 10 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = time.Minute
	}
	if cfg.EventQueue <= 0 {
		cfg.EventQueue = 256
	}
	if cfg.MaxLine <= 0 {
		cfg.MaxLine = 64 << 10
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	idle := make(chan struct{})
	close(idle)
	return &Server{
		cfg:       cfg,
		h:         h,
		log:       cfg.Logger,
		conns:     make(map[*conn]struct{}),
		perUID:    make(map[uint32]int),
		listeners: make(map[net.Listener]struct{}),
		idle:      idle,
		refusals:  refusalLog{log: cfg.Logger},
	}
}

// Serve accepts connections on ln until ctx ends or Close is called, and
// returns nil then. When ctx ends the whole server closes, as with Close.
// Any other accept failure is returned (the server keeps its clients).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()

	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			ln.Close() // unblocks Accept
		case <-stop:
		}
	}()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return s.Close()
			}
			if s.isClosed() {
				return nil
			}
			if !temporary(err) {
				return err
			}
			// Out of descriptors or memory: wait and retry, as net/http does,
			// rather than spin or give up on every client.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("control: accept failed; retrying", "err", err, "delay", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			continue
		}
		backoff = 0
		s.accept(nc)
	}
}

func temporary(err error) bool {
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (s *Server) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// accept serves nc as a new connection, or refuses it when a limit is
// reached. The peer's credentials are read first: the limits are per uid.
func (s *Server) accept(nc net.Conn) {
	peer, err := peerOf(nc)
	if err != nil {
		s.log.Warn("control: refusing a client", "err", err)
		nc.Close()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		nc.Close()
		return
	}
	s.wg.Add(1)
	if why := s.admitLocked(&peer); why != "" {
		go s.refuseBusy(nc, peer, why)
		return
	}
	peer.readGroups()
	c := newConn(s, nc, s.nextID.Add(1), peer)
	s.conns[c] = struct{}{}
	s.perUID[peer.UID]++
	go c.serve()
}

// admitLocked returns why a connection of peer p cannot be served now, or
// "" if it can. Called under s.mu.
func (s *Server) admitLocked(p *Peer) string {
	switch {
	case s.perUID[p.UID] >= s.cfg.MaxClientsPerUser:
		return fmt.Sprintf("busy: too many control clients of uid %d (control.maxClientsPerUser %d)", p.UID, s.cfg.MaxClientsPerUser)
	case len(s.conns) >= s.cfg.MaxClients:
		return fmt.Sprintf("busy: too many control clients (control.maxClients %d)", s.cfg.MaxClients)
	case len(s.conns) >= s.cfg.MaxClients-s.cfg.Reserved && !s.trusted(p):
		return fmt.Sprintf("busy: too many control clients; the last %d are kept for root and control.trusted", s.cfg.Reserved)
	}
	return ""
}

func (s *Server) trusted(p *Peer) bool {
	if p.UID == 0 {
		return true
	}
	if s.cfg.Trusted == nil {
		return false
	}
	p.readGroups() // a trusted group
	return s.cfg.Trusted(*p)
}

// refuseBusy tells a connection beyond a limit why it is closed. The line
// is short and the socket's buffer empty: the write does not wait.
func (s *Server) refuseBusy(nc net.Conn, p Peer, why string) {
	defer s.wg.Done()
	defer nc.Close()
	s.refusals.note(why, p)
	e := &Error{Code: CodeBusy, Message: why}
	nc.SetWriteDeadline(time.Now().Add(min(s.cfg.WriteTimeout, time.Second)))
	nc.Write(encodeError(nil, "", e))
}

// remove forgets a connection whose goroutines have ended.
func (s *Server) remove(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if s.perUID[c.peer.UID]--; s.perUID[c.peer.UID] <= 0 {
		delete(s.perUID, c.peer.UID)
	}
	s.mu.Unlock()
	if s.cfg.OnDisconnect != nil {
		s.cfg.OnDisconnect(c.id)
	}
}

// Publish sends the event to every client subscribed to it or to "*". It
// never blocks: a subscriber whose queue is full is dropped (its connection
// closed) and counted in Stats.DroppedSubscribers.
func (s *Server) Publish(event string, params any) {
	line, err := encodeEvent(event, params)
	if err != nil {
		s.log.Error("control: event cannot be marshalled", "event", event, "err", err)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := range s.conns {
		if !c.subscribed(event) {
			continue
		}
		if c.q.push(item{line: line}, s.cfg.EventQueue) == pushFull {
			c.drop("event queue full")
		}
	}
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	s.mu.RLock()
	n := len(s.conns)
	s.mu.RUnlock()
	return Stats{Clients: n, DroppedSubscribers: s.dropped.Load(), Requests: s.requests.Load(),
		Refused: s.refusals.total.Load(), TimedOut: s.timedOut.Load()}
}

// Flush waits until every request read so far has been answered and its
// answer written (or discarded because its client is gone), or until ctx
// ends. The daemon calls it on SIGTERM after failing pending joins, so the
// -3 answers leave before Close.
func (s *Server) Flush(ctx context.Context) error {
	s.pmu.Lock()
	idle := s.idle
	s.pmu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) addPending() {
	s.pmu.Lock()
	if s.pending == 0 {
		s.idle = make(chan struct{})
	}
	s.pending++
	s.pmu.Unlock()
}

func (s *Server) donePending() {
	s.pmu.Lock()
	s.pending--
	if s.pending == 0 {
		close(s.idle)
	}
	s.pmu.Unlock()
}

// Close stops accepting, writes the answers already queued (each write
// bounded by WriteTimeout), closes every client, cancels the handlers'
// contexts and waits for the handlers to return. Answers of handlers that
// return after that are discarded. Close is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.closed = true
	s.refusals.stop()
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.q.drain()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}
