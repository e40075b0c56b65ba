package roomd

import (
	"sync"
	"sync/atomic"
)

// counters are what roomd counts over its life for metrics
// (internal/metrics): joins by kind and result, refusals by reason, and
// the packets and bytes it forwarded.
type counters struct {
	mu       sync.Mutex
	joins    map[JoinResult]uint64
	refusals map[string]uint64
	// Forwarded packets and bytes, [0] audio, [1] video: each packet a
	// member uploads that roomd passes on (once, however many receive it).
	packets, bytes [2]atomic.Uint64
}

// JoinResult is a join's kind (voip, 1v1, rtc) and how it ended: "ok", or
// the reason it was refused (proto's reasons).
type JoinResult struct {
	Kind   string
	Result string
}

// Metrics are a snapshot of roomd's figures.
type Metrics struct {
	Rooms, Members int // now, group and call rooms and token rooms together
	Joins          map[JoinResult]uint64
	// Refusals are joins and connections refused before a room was
	// reached, by reason: a bad signature, timestamp or replayed nonce, a
	// token invalid or expired, a resume ticket refused, a per-address
	// limit.
	Refusals map[string]uint64
	// ForwardedPackets and ForwardedBytes (payload and header, as
	// received): [0] audio, [1] video.
	ForwardedPackets, ForwardedBytes [2]uint64
}

func (c *counters) join(kind, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.joins == nil {
		c.joins = map[JoinResult]uint64{}
	}
	c.joins[JoinResult{kind, result}]++
}

func (c *counters) refused(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refusals == nil {
		c.refusals = map[string]uint64{}
	}
	c.refusals[reason]++
}

// forwarded counts one forwarded packet of n bytes; video says which kind.
func (c *counters) forwarded(video bool, n int) {
	i := 0
	if video {
		i = 1
	}
	c.packets[i].Add(1)
	c.bytes[i].Add(uint64(n))
}

// Metrics returns roomd's figures so far.
func (s *Server) Metrics() Metrics {
	c := &s.counters
	out := Metrics{Joins: map[JoinResult]uint64{}, Refusals: map[string]uint64{}}
	c.mu.Lock()
	for k, n := range c.joins {
		out.Joins[k] = n
	}
	for k, n := range c.refusals {
		out.Refusals[k] = n
	}
	c.mu.Unlock()
	for i := range 2 {
		out.ForwardedPackets[i], out.ForwardedBytes[i] = c.packets[i].Load(), c.bytes[i].Load()
	}
	s.mu.Lock()
	out.Rooms = len(s.rooms) + len(s.rtcRooms)
	for _, r := range s.rooms {
		out.Members += len(r.members)
	}
	for _, r := range s.rtcRooms {
		out.Members += len(r.members)
	}
	s.mu.Unlock()
	return out
}
