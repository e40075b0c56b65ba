// Command ctlload loads voipd's control socket the way misbehaving local
// clients would, for the tests of its limits (cmd/voipd's
// TestControlSocketUnderFlood) and by hand:
//
//	ctlload -socket PATH -idle 200 -drip 200 -flood 200 -for 10s
//	ctlload -socket PATH -status 100ms -for 10s
//
// Idle workers connect and send nothing; drip workers send a byte of a
// line every 500 ms and never end it; flood workers send status requests
// as fast as the daemon takes them, reading the answers. Each reconnects
// 10 ms after its connection ends, until the time is up. The status mode
// is the well-behaved client beside them: a status call every interval,
// all on one connection (-fresh: each on a new one), its latency
// measured. It prints one JSON
// summary on stdout.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

type summary struct {
	// The load's workers.
	Connections uint64 `json:"connections"` // connections made
	Refused     uint64 `json:"refused"`     // answered -32000 (busy)
	LineTimeout uint64 `json:"lineTimeout"` // answered -32600 for a line not ended
	Requests    uint64 `json:"requests"`    // flood requests answered
	// The status client.
	Calls    int      `json:"calls"`
	Answered int      `json:"answered"`
	Failures []string `json:"failures,omitempty"`
	P50Ms    float64  `json:"p50Ms"`
	P99Ms    float64  `json:"p99Ms"`
	MaxMs    float64  `json:"maxMs"`
}

func main() {
	socket := flag.String("socket", "/run/voipd/control.sock", "the control socket")
	idle := flag.Int("idle", 0, "idle workers")
	drip := flag.Int("drip", 0, "slow-drip workers")
	flood := flag.Int("flood", 0, "flooding workers")
	status := flag.Duration("status", 0, "call status this often")
	fresh := flag.Bool("fresh", false, "each status call on a new connection (as voipctl does), not all on one (as a kiosk UI does)")
	d := flag.Duration("for", 10*time.Second, "how long")
	flag.Parse()

	var s summary
	end := time.Now().Add(*d)
	var wg sync.WaitGroup
	for kind, n := range map[string]int{"idle": *idle, "drip": *drip, "flood": *flood} {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					worker(*socket, kind, end, &s)
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
	}
	if *status > 0 {
		statusClient(*socket, *status, *fresh, end, &s)
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(&s)
}

// worker runs one connection of kind until it ends or the time is up.
func worker(socket, kind string, end time.Time, s *summary) {
	c, err := net.Dial("unix", socket)
	if err != nil {
		return
	}
	defer c.Close()
	atomic.AddUint64(&s.Connections, 1)
	c.SetDeadline(end)
	answers := make(chan map[string]any, 64)
	go func() {
		defer close(answers)
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(line, &m) == nil {
				answers <- m
			}
		}
	}()
	count := func(m map[string]any) {
		e, _ := m["error"].(map[string]any)
		switch code, _ := e["code"].(float64); {
		case e == nil:
			atomic.AddUint64(&s.Requests, 1)
		case code == -32000:
			atomic.AddUint64(&s.Refused, 1)
		case code == -32600:
			atomic.AddUint64(&s.LineTimeout, 1)
		}
	}
	switch kind {
	case "idle":
		for m := range answers {
			count(m)
		}
	case "drip":
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		part := []byte(`{"jsonrpc":"2.0","id":1,"method":"status"`)
		for i := 0; ; i++ {
			select {
			case m, ok := <-answers:
				if !ok {
					return
				}
				count(m)
			case <-tick.C:
				if _, err := c.Write(part[i%len(part) : i%len(part)+1]); err != nil {
					return
				}
			}
		}
	case "flood":
		go func() {
			for time.Now().Before(end) {
				if _, err := c.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"status"}` + "\n")); err != nil {
					return
				}
			}
		}()
		for m := range answers {
			count(m)
		}
	}
}

// statusClient calls status every interval until end, on one connection
// or each on a new one.
func statusClient(socket string, every time.Duration, fresh bool, end time.Time, s *summary) {
	var lat []time.Duration
	tick := time.NewTicker(every)
	defer tick.Stop()
	var c *client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	for time.Now().Before(end) {
		<-tick.C
		s.Calls++
		start := time.Now()
		var err error
		if c == nil || fresh {
			if c != nil {
				c.Close()
			}
			c, err = dial(socket)
		}
		if err == nil {
			err = c.status()
		}
		if err != nil {
			s.Failures = append(s.Failures, err.Error())
			if c != nil {
				c.Close()
				c = nil
			}
			continue
		}
		s.Answered++
		lat = append(lat, time.Since(start))
	}
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	s.P50Ms, s.P99Ms, s.MaxMs = ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1])
}

type client struct {
	net.Conn
	r *bufio.Reader
}

func dial(socket string) (*client, error) {
	c, err := net.Dial("unix", socket)
	if err != nil {
		return nil, err
	}
	return &client{Conn: c, r: bufio.NewReader(c)}, nil
}

func (c *client) status() error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(`{"jsonrpc":"2.0","id":7,"method":"status"}` + "\n")); err != nil {
		return err
	}
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	var m struct {
		Result map[string]any  `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return err
	}
	if m.Result == nil {
		return fmt.Errorf("status answered %s", m.Error)
	}
	return nil
}
