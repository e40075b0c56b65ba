package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/internal/bench"
)

// cmdStartup measures process start (the fork/exec) to READY=1 on a
// NOTIFY_SOCKET the bench owns, then checks the control socket accepts a
// connection: for a daemon using a remote roomd and one embedding roomd.
func cmdStartup(args []string) error {
	fs := newFlags("startup")
	runs := fs.Int("n", 20, "starts per configuration")
	fs.Parse(args)
	rm, dir, done, err := roomAndDir("voipbench-startup-")
	if err != nil {
		return err
	}
	defer done()

	var rows []bench.Row
	for ci, c := range []struct{ what, url, secret string }{
		{"voipd start → READY=1 (remote roomd)", rm.ws, rm.secret},
		{"voipd start → READY=1 (embedded roomd)", "embedded", ""},
	} {
		var ms []float64
		for i := range *runs {
			name := fmt.Sprintf("c%d-s%d", ci, i)
			d, err := startOnce(dir, name, daemonConfig(dir+"/"+name, "door-1", c.url, c.secret))
			if err != nil {
				return err
			}
			ms = append(ms, float64(d)/float64(time.Millisecond))
		}
		progress("%s: %v ms", c.what, ms)
		rows = append(rows,
			bench.Row{What: c.what + ", p50", Ours: bench.Median(ms), Anchor: math.NaN(), Unit: "ms", Goal: bench.Goal{Max: 50, Label: "≤ 50 ms"}},
			bench.Row{What: c.what + ", p95", Ours: bench.Percentile(ms, 95), Anchor: math.NaN(), Unit: "ms"})
	}
	fmt.Printf("### Start-up\n\n%d starts per configuration; a start is timed from just before fork/exec to the\n", *runs)
	fmt.Printf("READY=1 datagram on a NOTIFY_SOCKET the bench owns; each start then connects to the control socket\n")
	fmt.Printf("(it must accept) and stops the daemon with SIGTERM. No anchor: the goal is absolute.\n\n")
	fmt.Print(bench.Table(rows))
	return nil
}

func startOnce(dir, name, config string) (time.Duration, error) {
	sock := dir + "/" + name + ".notify"
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	p, err := startVoipd(dir, name, config, "NOTIFY_SOCKET="+sock)
	if err != nil {
		return 0, err
	}
	defer p.stop()
	buf := make([]byte, 4096)
	ln.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		n, _, err := ln.ReadFromUnix(buf)
		if err != nil {
			out, _ := os.ReadFile(p.stderr)
			return 0, fmt.Errorf("no READY=1 from voipd: %w\n%s", err, out)
		}
		if strings.Contains("\n"+string(buf[:n])+"\n", "\nREADY=1\n") {
			break
		}
	}
	d := time.Since(p.started)
	c, err := dialCtl(p.socket)
	if err != nil {
		return 0, fmt.Errorf("READY=1 came but the control socket does not accept: %w", err)
	}
	c.close()
	return d, nil
}

// ctl is a control-socket client: JSON-RPC 2.0, one object per line. It
// sends one request at a time and skips event notifications.
//
// voipd closes a control connection that sent no request for
// control.idleTimeout (60 s by default), and a bench's measured window can
// be longer than that: a call after redialAfter of silence opens a new
// connection first.
type ctl struct {
	socket      string
	conn        net.Conn
	r           *bufio.Reader
	id          atomic.Int64
	last        time.Time     // of the last request sent
	redialAfter time.Duration // of silence, under voipd's idle timeout
}

// ctlRedialAfter is ctl.redialAfter's default: well under voipd's default
// control.idleTimeout (60 s), which the bench's daemons keep.
const ctlRedialAfter = 45 * time.Second

func dialCtl(socket string) (*ctl, error) {
	c := &ctl{socket: socket, redialAfter: ctlRedialAfter}
	if err := c.dial(); err != nil {
		return nil, err
	}
	return c, nil
}

// dial (re)connects to the socket.
func (c *ctl) dial() error {
	conn, err := net.DialTimeout("unix", c.socket, time.Second)
	if err != nil {
		return err
	}
	if c.conn != nil {
		c.conn.Close()
	}
	c.conn, c.r, c.last = conn, bufio.NewReaderSize(conn, 64<<10), time.Now()
	return nil
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// call sends method with params and returns the result.
func (c *ctl) call(method string, params any) (map[string]any, error) {
	id := c.id.Add(1)
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	if err != nil {
		return nil, err
	}
	if time.Since(c.last) >= c.redialAfter {
		if err := c.dial(); err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
	}
	c.last = time.Now()
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.conn.Write(append(req, '\n')); err != nil {
		return nil, err
	}
	for {
		line, err := c.r.ReadBytes('\n')
		if err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		var ans struct {
			ID     *int64          `json:"id"`
			Result map[string]any  `json:"result"`
			Error  *rpcError       `json:"error"`
			Method json.RawMessage `json:"method"`
		}
		if err := json.Unmarshal(line, &ans); err != nil {
			return nil, fmt.Errorf("%s: %w: %s", method, err, line)
		}
		if ans.ID == nil || *ans.ID != id {
			continue // an event
		}
		if ans.Error != nil {
			return nil, fmt.Errorf("%s: %d %s", method, ans.Error.Code, ans.Error.Message)
		}
		return ans.Result, nil
	}
}

func (c *ctl) close() { c.conn.Close() }

// inboundFrames sums the complete frames of getStats' inbound entries of
// kind: framesReceived (voipd decodes no member's video), or framesDecoded
// from a voipd built before framesReceived existed.
func (c *ctl) inboundFrames(kind string) (float64, error) {
	return c.inboundSum(kind, func(m map[string]any) float64 {
		f, ok := m["framesReceived"].(float64)
		if !ok {
			f, _ = m["framesDecoded"].(float64)
		}
		return f
	})
}

// inboundSum sums value over getStats' inbound entries of kind.
func (c *ctl) inboundSum(kind string, value func(map[string]any) float64) (float64, error) {
	st, err := c.call("getStats", nil)
	if err != nil {
		return 0, err
	}
	in, _ := st["inbound"].([]any)
	var n float64
	for _, e := range in {
		if m, _ := e.(map[string]any); m["kind"] == kind {
			n += value(m)
		}
	}
	return n, nil
}
