package roomd

import (
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"
)

// Per-address limits on signalling connections. Every WebSocket carries
// one join attempt (its first message is join, register or call), so
// counting the WebSockets an address opens counts its joins; they are
// refused with HTTP 429 before the upgrade, which costs roomd one short
// HTTP exchange and no member. Two limits:
//
//   - a token bucket of joins (Config.JoinBurst at once, refilled at
//     Config.JoinRate a second): a flood of joins, signed or not, costs
//     at most that many signature checks and peer connections;
//   - Config.MaxPendingPerAddress WebSockets that have not sent their
//     first message yet: sockets opened and left silent hold a goroutine
//     pair and buffers each until the handshake timeout, and this bounds
//     how many one address can hold.
//
// Members in rooms never count: joined is not pending, and a member's
// media does not pass through here. Neither do loopback peers: they are
// roomd's own host, a reverse proxy in front of it (every client would
// share its one address: the proxy has to limit by the client's) or the
// embedded server's own daemon.

// Defaults: an office NAT's whole staff joining after a roomd restart
// (resuming every 500 ms) gets 20 in at once and the rest within seconds;
// one address cannot hold more than 32 silent sockets.
const (
	defaultJoinRate         = 5.0
	defaultJoinBurst        = 20
	defaultMaxPending       = 32
	defaultHandshakeTimeout = 10 * time.Second
)

// limitDefaults checks and completes the abuse limits of cfg. A negative
// JoinRate or MaxPendingPerAddress turns that limit off (a reverse proxy
// in front of roomd makes every client one address).
func limitDefaults(cfg *Config) error {
	switch {
	case cfg.HandshakeTimeout < 0:
		return fmt.Errorf("roomd: Config.HandshakeTimeout %v is negative", cfg.HandshakeTimeout)
	case math.IsNaN(cfg.JoinRate) || math.IsInf(cfg.JoinRate, 0):
		return fmt.Errorf("roomd: Config.JoinRate %v is not a number of joins a second", cfg.JoinRate)
	case cfg.JoinBurst < 0:
		return fmt.Errorf("roomd: Config.JoinBurst %d is negative", cfg.JoinBurst)
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = defaultHandshakeTimeout
	}
	if cfg.JoinRate == 0 {
		cfg.JoinRate = defaultJoinRate
	}
	if cfg.JoinBurst == 0 {
		cfg.JoinBurst = defaultJoinBurst
	}
	if cfg.MaxPendingPerAddress == 0 {
		cfg.MaxPendingPerAddress = defaultMaxPending
	}
	return nil
}

// Reasons a connection is refused before the upgrade (refusalLog keys).
const (
	refusedRate    = "rate"
	refusedPending = "pending"
)

// addrLimiter keeps the per-address counts.
type addrLimiter struct {
	rate       float64 // joins a second; 0: no rate limit
	burst      float64
	maxPending int // 0: no limit
	// limitLoopback: loopback peers are limited too (tests: 127.0.0.1 is
	// the only address they have).
	limitLoopback bool
	// sweepEvery: entries idle this long are back to a full bucket and
	// worth nothing; the map is swept of them this often, so that
	// addresses seen once do not accumulate.
	sweepEvery time.Duration

	mu    sync.Mutex
	addrs map[netip.Addr]*addrCount
	swept time.Time
}

// addrCount is one address's state.
type addrCount struct {
	tokens  float64   // joins it may start now
	at      time.Time // when tokens was last brought up to date
	pending int       // its WebSockets that have not sent a first message
}

// newAddrLimiter builds the limiter of a completed config.
func newAddrLimiter(cfg *Config) *addrLimiter {
	l := &addrLimiter{addrs: map[netip.Addr]*addrCount{}, sweepEvery: time.Minute}
	if cfg.JoinRate > 0 {
		l.rate, l.burst = cfg.JoinRate, float64(cfg.JoinBurst)
		l.sweepEvery = max(time.Duration(l.burst/l.rate*float64(time.Second)), time.Second)
	}
	l.maxPending = max(cfg.MaxPendingPerAddress, 0)
	return l
}

// limitKey is whom a remote address counts against: an IPv4 address, or
// an IPv6 address's /64 (a host or a LAN holds a whole /64 and can pick
// any address in it, so single IPv6 addresses would limit nothing).
func limitKey(remote string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(remote)
	if err != nil {
		return netip.Addr{}, false
	}
	a := ap.Addr().Unmap().WithZone("")
	if a.Is6() && !a.IsLoopback() { // ::1 stays itself: admit tells loopback by it
		p, err := a.Prefix(64)
		if err != nil {
			return netip.Addr{}, false
		}
		a = p.Addr()
	}
	return a, true
}

// limitRefusal is a connection refused by the limiter.
type limitRefusal struct {
	reason     string // refusedRate or refusedPending
	msg        string // for the client: which limit, and its value
	retryAfter time.Duration
}

// admit counts a new WebSocket from remote, or refuses it. release, called
// once its first message is read or it closes (more calls do nothing),
// ends its pending state. A remote that is not an address (never, from
// net/http) is not limited, nor is a loopback one.
func (l *addrLimiter) admit(remote string, now time.Time) (release func(), refused *limitRefusal) {
	key, ok := limitKey(remote)
	if !ok || (l.rate == 0 && l.maxPending == 0) || (key.IsLoopback() && !l.limitLoopback) {
		return func() {}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) >= l.sweepEvery {
		l.sweepLocked(now)
	}
	c := l.addrs[key]
	if c == nil {
		c = &addrCount{tokens: l.burst, at: now}
		l.addrs[key] = c
	}
	if l.maxPending > 0 && c.pending >= l.maxPending {
		return nil, &limitRefusal{reason: refusedPending, retryAfter: time.Second,
			msg: fmt.Sprintf("too many connections from %s waiting to join (at most %d)", key, l.maxPending)}
	}
	if l.rate > 0 {
		l.refillLocked(c, now)
		if c.tokens < 1 {
			wait := time.Duration((1 - c.tokens) / l.rate * float64(time.Second))
			return nil, &limitRefusal{reason: refusedRate, retryAfter: wait,
				msg: fmt.Sprintf("too many joins from %s (at most %d at once, then %g a second)", key, int(l.burst), l.rate)}
		}
		c.tokens--
	}
	c.pending++
	var once sync.Once
	return func() { once.Do(func() { l.release(key) }) }, nil
}

// release ends one pending connection of key.
func (l *addrLimiter) release(key netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.addrs[key]
	if c == nil {
		return
	}
	c.pending--
	if c.pending == 0 && l.rate == 0 {
		delete(l.addrs, key) // nothing else to remember about it
	}
}

func (l *addrLimiter) refillLocked(c *addrCount, now time.Time) {
	if d := now.Sub(c.at); d > 0 {
		c.tokens = min(l.burst, c.tokens+d.Seconds()*l.rate)
	}
	c.at = now
}

// sweepLocked forgets addresses with no pending connection whose bucket
// is full again: a new entry would be the same.
func (l *addrLimiter) sweepLocked(now time.Time) {
	for k, c := range l.addrs {
		if c.pending > 0 {
			continue
		}
		l.refillLocked(c, now)
		if c.tokens >= l.burst {
			delete(l.addrs, k)
		}
	}
	l.swept = now
}

// pending is how many connections of remote's address wait for their first
// message (for tests).
func (l *addrLimiter) pending(remote string) int {
	key, _ := limitKey(remote)
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.addrs[key]; c != nil {
		return c.pending
	}
	return 0
}

// size is how many addresses the limiter remembers (for tests).
func (l *addrLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.addrs)
}
