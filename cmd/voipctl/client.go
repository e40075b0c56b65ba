package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/voipd/voipd/daemon/control"
)

// dialTimeout bounds connecting only; an answer may take as long as the
// method does (a join waits for the room).
const dialTimeout = 5 * time.Second

// conn is one connection to voipd's control socket.
type conn struct {
	path string
	c    net.Conn
	r    *bufio.Reader
	ctx  context.Context
	stop func() bool
}

// dial connects and arranges for ctx's end (Ctrl-C) to close the connection,
// which ends any read in progress.
func dial(ctx context.Context, path string) (*conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to voipd at %s: %w", path, err)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	return &conn{path: path, c: c, r: bufio.NewReader(c), ctx: ctx, stop: stop}, nil
}

func (c *conn) Close() error {
	c.stop()
	return c.c.Close()
}

// errorText is what voipctl prints for an error answer: the seed's errCode
// and errMsg from its data when voipd gave them, the JSON-RPC code and
// message otherwise.
func errorText(e *control.ErrorObject) string {
	var d control.ErrorData
	if json.Unmarshal(e.Data, &d) == nil && d.ErrMsg != "" {
		return fmt.Sprintf("%d %s", d.ErrCode, d.ErrMsg)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Message)
}

// send writes one request with id 1; voipctl has one request in flight.
// params nil sends none.
func (c *conn) send(method string, params json.RawMessage) error {
	b, err := json.Marshal(control.RequestLine{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: method, Params: params})
	if err != nil {
		return err
	}
	if _, err := c.c.Write(append(b, '\n')); err != nil {
		return c.lost(err)
	}
	return nil
}

// next reads the next line from voipd.
func (c *conn) next() (*control.ServerLine, error) {
	b, err := c.r.ReadBytes('\n')
	if err != nil {
		if len(bytes.TrimSpace(b)) == 0 {
			return nil, c.lost(err)
		}
		// A last line without its newline is still a line.
	}
	var l control.ServerLine
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("voipd at %s sent a line that is not JSON: %w", c.path, err)
	}
	return &l, nil
}

// answer reads until the answer, handing events met on the way to onEvent.
func (c *conn) answer(onEvent func(*control.ServerLine) error) (*control.ServerLine, error) {
	for {
		l, err := c.next()
		if err != nil {
			return nil, err
		}
		if !l.IsEvent() {
			return l, nil
		}
		if onEvent != nil {
			if err := onEvent(l); err != nil {
				return nil, err
			}
		}
	}
}

// errInterrupted is a read ended by ctx (Ctrl-C), not by voipd.
var errInterrupted = errors.New("interrupted")

func (c *conn) lost(err error) error {
	if c.ctx.Err() != nil {
		return errInterrupted
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("voipd at %s closed the connection", c.path)
	}
	return fmt.Errorf("connection to voipd at %s: %w", c.path, err)
}
