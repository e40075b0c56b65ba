// Package lossynet is this machine's network for one ICE agent, except
// that it drops a share of the RTP the agent sends, seeded so that a run
// repeats: loss in user space, for tests, where netem is not available.
// A pion SettingEngine takes it with SetNet.
package lossynet

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// Net drops a share of the RTP written through it.
type Net struct {
	transport.Net
	loss float64

	mu              sync.Mutex
	rng             *rand.Rand
	dropped, passed atomic.Int64
}

// New is a Net that drops the share loss (0..1) of the RTP, its draws
// seeded with seed.
func New(loss float64, seed uint64) (*Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return &Net{Net: n, loss: loss, rng: rand.New(rand.NewPCG(seed, seed))}, nil
}

// Dropped and Passed count the RTP packets dropped and let through.
func (n *Net) Dropped() int64 { return n.dropped.Load() }
func (n *Net) Passed() int64  { return n.passed.Load() }

// ListenUDP is what ICE gathers its host candidates with.
func (n *Net) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &conn{UDPConn: c, n: n}, nil
}

// drop decides a datagram's fate. Only RTP is dropped: by RFC 7983 RTP and
// RTCP start with 128..191, and RTCP's packet types are 192..223 (RFC 5761
// §4). STUN and DTLS pass, so that ICE and the handshake are not what the
// loss tests.
func (n *Net) drop(b []byte) bool {
	if len(b) < 2 || b[0] < 128 || b[0] > 191 || (b[1] >= 192 && b[1] <= 223) {
		return false
	}
	n.mu.Lock()
	d := n.rng.Float64() < n.loss
	n.mu.Unlock()
	if d {
		n.dropped.Add(1)
	} else {
		n.passed.Add(1)
	}
	return d
}

type conn struct {
	transport.UDPConn
	n *Net
}

func (c *conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.n.drop(b) {
		return len(b), nil
	}
	return c.UDPConn.WriteTo(b, addr)
}

func (c *conn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	if c.n.drop(b) {
		return len(b), nil
	}
	return c.UDPConn.WriteToUDP(b, addr)
}

func (c *conn) Write(b []byte) (int, error) {
	if c.n.drop(b) {
		return len(b), nil
	}
	return c.UDPConn.Write(b)
}
