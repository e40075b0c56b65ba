package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// lingerTime bounds how long the rest of an over-long line is read and
// dropped before the connection closes.
const lingerTime = time.Second

// conn is the server's side of one connection: a reader (serve), a writer
// (writeLoop) and one goroutine per request being served. ClientID is its id.
type conn struct {
	s      *Server
	id     uint64
	nc     net.Conn
	peer   Peer
	ctx    context.Context
	cancel context.CancelFunc
	q      *outQueue

	// sem holds one token per request read and not yet finished (its answer
	// written or discarded, or, for a notification, its handler returned).
	sem        chan struct{}
	inflight   sync.WaitGroup // running handlers of this connection
	writerDone chan struct{}
	dropped    atomic.Bool
	lingering  atomic.Bool // the reader closes the connection after draining input

	subMu sync.Mutex
	subs  map[string]struct{}

	// The read clock (LineTimeout, IdleTimeout): when the bytes read so
	// far stopped ending a line (0: they end one), and when the client
	// last did something (a line read, a request finished), in Unix
	// nanoseconds. clockMu makes "is it idle? then arm the deadline" one
	// step between the reader and the goroutines finishing requests.
	partialSince atomic.Int64
	active       atomic.Int64
	readTimedOut atomic.Bool
	clockMu      sync.Mutex
}

func newConn(s *Server, nc net.Conn, id uint64, peer Peer) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		s: s, id: id, nc: nc, peer: peer, ctx: ctx, cancel: cancel,
		q:          newOutQueue(),
		sem:        make(chan struct{}, maxInFlight),
		writerDone: make(chan struct{}),
		subs:       make(map[string]struct{}),
	}
	c.active.Store(time.Now().UnixNano())
	return c
}

// serve runs the connection to its end: writer, read loop.
func (c *conn) serve() {
	defer c.s.wg.Done()
	defer c.s.remove(c)
	log := c.s.log.With("client", c.id)
	log.Debug("control: client connected", "uid", c.peer.UID, "gid", c.peer.GID, "pid", c.peer.PID)
	go c.writeLoop()
	c.readLoop()
	<-c.writerDone
	log.Debug("control: client gone")
}

// clockedReader is the connection as the read loop's scanner reads it:
// each read first sets the deadline that applies, and notes whether the
// bytes so far end a line.
type clockedReader struct{ c *conn }

func (r clockedReader) Read(p []byte) (int, error) {
	c := r.c
	c.clockMu.Lock()
	c.nc.SetReadDeadline(c.readDeadline())
	c.clockMu.Unlock()
	n, err := c.nc.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		c.readTimedOut.Store(true)
	}
	if n > 0 {
		now := time.Now().UnixNano()
		if p[n-1] == '\n' {
			c.partialSince.Store(0)
			c.active.Store(now)
		} else if c.partialSince.Load() == 0 {
			c.partialSince.Store(now)
		}
	}
	return n, err
}

// readDeadline is when the reader gives up waiting: LineTimeout after a
// line began and did not end, IdleTimeout after the last activity of a
// client with nothing in flight and no subscription, else never (the zero
// time). Called under clockMu.
func (c *conn) readDeadline() time.Time {
	if since := c.partialSince.Load(); since != 0 {
		return time.Unix(0, since).Add(c.s.cfg.LineTimeout)
	}
	if len(c.sem) > 0 || c.hasSubscriptions() {
		return time.Time{}
	}
	return time.Unix(0, c.active.Load()).Add(c.s.cfg.IdleTimeout)
}

// rearm resets the read deadline after the client's state changed outside
// the reader (its last request finished, its subscriptions went).
func (c *conn) rearm() {
	c.clockMu.Lock()
	c.nc.SetReadDeadline(c.readDeadline())
	c.clockMu.Unlock()
}

// release gives back a request's in-flight token; the last one starts the
// idle clock.
func (c *conn) release() {
	<-c.sem
	if len(c.sem) == 0 {
		c.active.Store(time.Now().UnixNano())
		c.rearm()
	}
}

func (c *conn) readLoop() {
	sc := bufio.NewScanner(clockedReader{c})
	// A read that timed out ends the input with the line unended: unlike
	// EOF's last line, it is no request (the client was not done).
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if atEOF && c.readTimedOut.Load() {
			return 0, nil, nil
		}
		return bufio.ScanLines(data, atEOF)
	})
	// +1: the scanner needs room for the newline of a line of exactly MaxLine.
	sc.Buffer(make([]byte, 0, 4096), c.s.cfg.MaxLine+1)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if !c.acquire() {
			break
		}
		c.handleLine(line)
	}
	switch err := sc.Err(); {
	case c.ctx.Err() != nil:
		c.kill()
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.timedOut()
	case err == nil:
		// EOF: the client may have only shut down its writing half and still
		// wait for answers, so finish what it asked before closing.
		c.inflight.Wait()
		c.q.drain()
	case errors.Is(err, bufio.ErrTooLong):
		// The rest of the line cannot be resynchronised: answer, then close.
		c.refuseLine(fmt.Sprintf("request line longer than %d bytes", c.s.cfg.MaxLine))
	default:
		c.kill()
	}
}

// refuseLine answers -32600 with msg about the line being read, then
// closes the connection.
func (c *conn) refuseLine(msg string) {
	c.lingering.Store(true)
	if c.acquire() {
		c.s.addPending()
		c.queueAnswer(encodeError(nil, "", invalidRequest(msg)))
	}
	c.q.drain()
	// Closing with the rest of the line unread would make the kernel
	// reset the connection, and the client could lose the answer: the
	// writer only shuts down its half, and the rest is read and dropped
	// for a bounded time.
	<-c.writerDone
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	io.Copy(io.Discard, c.nc)
	c.nc.Close()
}

// timedOut ends a connection whose read deadline passed: a line begun and
// not ended gets an answer saying so first; an idle client is closed.
func (c *conn) timedOut() {
	c.s.timedOut.Add(1)
	if c.partialSince.Load() == 0 {
		c.s.log.Debug("control: closing an idle client", "client", c.id, "after", c.s.cfg.IdleTimeout)
		c.kill()
		return
	}
	c.s.log.Debug("control: closing a client that did not end its line", "client", c.id, "after", c.s.cfg.LineTimeout)
	c.refuseLine(fmt.Sprintf("request line not ended within %s", c.s.cfg.LineTimeout))
}

// acquire takes an in-flight token, waiting while the connection has
// maxInFlight requests unfinished.
func (c *conn) acquire() bool {
	select {
	case c.sem <- struct{}{}:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// handleLine serves one non-empty line; it owns one in-flight token.
func (c *conn) handleLine(line []byte) {
	m, id, e := decodeLine(line)
	if e != nil {
		c.s.addPending()
		c.queueAnswer(encodeError(id, "", e))
		return
	}
	c.s.requests.Add(1)
	if !m.isNotification() {
		c.s.addPending()
	}
	switch m.Method {
	case "subscribe", "unsubscribe":
		// Served inline so the subscription holds before the next line is
		// read and its answer precedes the events it enables.
		result, err := c.builtin(m)
		c.finish(m, result, err)
	default:
		c.inflight.Add(1)
		c.s.wg.Add(1)
		go func() {
			defer c.s.wg.Done()
			defer c.inflight.Done()
			result, err := c.call(m)
			c.finish(m, result, err)
		}()
	}
}

// call runs the Handler, turning a panic into an internal error: a request
// must never crash the daemon.
func (c *conn) call(m RequestLine) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.s.log.Error("control: handler panic", "client", c.id, "method", m.Method,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			result, err = nil, internalError(m.Method)
		}
	}()
	req := &Request{ID: m.ID, Method: m.Method, Params: m.Params, Peer: c.peer, ClientID: c.id}
	return c.s.h.ServeRPC(c.ctx, req)
}

// finish answers m (unless it is a notification) and gives its token back.
func (c *conn) finish(m RequestLine, result any, err error) {
	if m.isNotification() {
		c.release()
		return
	}
	var line []byte
	if err != nil {
		e, chosen := handlerError(m.Method, err)
		if !chosen {
			c.s.log.Warn("control: method failed", "client", c.id, "method", m.Method, "err", err)
		}
		line = encodeError(m.ID, m.Method, e)
	} else if line, err = encodeResult(m.ID, m.Method, result); err != nil {
		c.s.log.Error("control: result cannot be marshalled", "method", m.Method, "err", err)
	}
	c.queueAnswer(line)
}

// queueAnswer queues an answer whose token and pending count are held; if
// the client is going away they are released at once.
func (c *conn) queueAnswer(line []byte) {
	if c.q.push(item{line: line, answer: true}, 0) != pushed {
		c.releaseAnswer()
	}
}

func (c *conn) releaseAnswer() {
	c.release()
	c.s.donePending()
}

// writeLoop writes queued lines until the queue stops, then closes the
// connection, which also ends the read loop.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	defer c.cancel()
	defer func() {
		if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && c.lingering.Load() {
			cw.CloseWrite()
			return
		}
		c.nc.Close()
	}()
	for {
		it, ok := c.q.pop()
		if !ok {
			return
		}
		c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
		_, err := c.nc.Write(it.line)
		if it.answer {
			c.releaseAnswer()
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && c.hasSubscriptions() {
				c.drop("write timed out")
			}
			c.kill()
			return
		}
	}
}

// kill ends the connection now: nothing more is written, handlers are
// cancelled.
func (c *conn) kill() {
	c.cancel()
	c.nc.Close()
	for _, it := range c.q.abort() {
		if it.answer {
			c.releaseAnswer()
		}
	}
}

// drop kills a connection whose client stopped reading, counting it once.
func (c *conn) drop(why string) {
	if c.dropped.CompareAndSwap(false, true) {
		c.s.dropped.Add(1)
		c.s.log.Warn("control: dropping a client that does not read", "client", c.id, "why", why)
	}
	c.kill()
}

func (c *conn) hasSubscriptions() bool {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	return len(c.subs) > 0
}

func (c *conn) subscribed(event string) bool {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	if len(c.subs) == 0 {
		return false
	}
	_, all := c.subs["*"]
	_, one := c.subs[event]
	return all || one
}

// builtin serves subscribe {events} and unsubscribe {events?}. The set is
// literal: "*" is one more name, and unsubscribe without events clears it.
func (c *conn) builtin(m RequestLine) (any, error) {
	var p struct {
		Events *[]string `json:"events"`
	}
	if m.Params != nil {
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return nil, InvalidParams("events", "must be a list of event names")
		}
	}
	if p.Events == nil && m.Method == "subscribe" {
		return nil, InvalidParams("events", "required")
	}
	if p.Events != nil {
		if len(*p.Events) == 0 && m.Method == "subscribe" {
			return nil, InvalidParams("events", "must not be empty")
		}
		for _, name := range *p.Events {
			if name == "" {
				return nil, InvalidParams("events", "event names must not be empty")
			}
			if name != "*" && c.s.cfg.Events != nil && !slices.Contains(c.s.cfg.Events, name) {
				return nil, InvalidParams("events", fmt.Sprintf("no event is named %q", name))
			}
		}
	}
	c.subMu.Lock()
	switch {
	case m.Method == "subscribe":
		for _, name := range *p.Events {
			c.subs[name] = struct{}{}
		}
	case p.Events == nil:
		clear(c.subs)
	default:
		for _, name := range *p.Events {
			delete(c.subs, name)
		}
	}
	c.subMu.Unlock()
	return map[string]any{"errCode": 0, "errMsg": m.Method + ":ok"}, nil
}
