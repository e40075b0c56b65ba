package daemon

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/voipd/voipd/daemon/session"
)

// counters are what the daemon counts over its life for metrics
// (daemon/metrics): joins by method and answer code, room reconnects,
// device errors by device.
type counters struct {
	mu           sync.Mutex
	joins        map[JoinKey]uint64
	deviceErrors map[string]uint64
	reconnects   atomic.Uint64
}

// JoinKey is one join method and the code it answered (0: joined).
type JoinKey struct {
	Method string
	Code   int
}

// Counters are a snapshot of the daemon's counters.
type Counters struct {
	Joins []JoinCount
	// Reconnects are the times a room's connection was lost and the
	// daemon set out to get back in (onVoIPChatStateChanged 6, Douyin's
	// reconnecting state).
	Reconnects uint64
	// DeviceErrors are the times a device was lost mid-call (code 4), by
	// device: "audio" or "camera".
	DeviceErrors map[string]uint64
	// ControlClients are the control socket's connected clients now.
	ControlClients int
	// Now: in a room (joined, not joining or leaving), its members, the
	// media connection's round trip and the worst member's jitter (0
	// when not known).
	InRoom        bool
	Members       int
	RTTSeconds    float64
	JitterSeconds float64
}

// JoinCount is how many joins of one method answered one code.
type JoinCount struct {
	JoinKey
	N uint64
}

// isJoin reports whether a method joins a room or call: its answers are
// counted by code.
func isJoin(method string) bool { return strings.HasPrefix(method, "join") }

func (c *counters) join(method string, code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.joins == nil {
		c.joins = map[JoinKey]uint64{}
	}
	c.joins[JoinKey{method, code}]++
}

func (c *counters) deviceError(device string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deviceErrors == nil {
		c.deviceErrors = map[string]uint64{}
	}
	c.deviceErrors[device]++
}

// Counters returns the daemon's counters so far, joins sorted by method
// and code.
func (d *Daemon) Counters() Counters {
	c := &d.counters
	c.mu.Lock()
	out := Counters{Reconnects: c.reconnects.Load(), DeviceErrors: map[string]uint64{}}
	for k, n := range c.joins {
		out.Joins = append(out.Joins, JoinCount{k, n})
	}
	for k, n := range c.deviceErrors {
		out.DeviceErrors[k] = n
	}
	c.mu.Unlock()
	slices.SortFunc(out.Joins, func(a, b JoinCount) int {
		if a.Method != b.Method {
			return strings.Compare(a.Method, b.Method)
		}
		return a.Code - b.Code
	})
	if p := d.events.pub.Load(); p != nil {
		out.ControlClients = (*p).Stats().Clients
	}
	st := d.engine.Status()
	out.InRoom = st.State == session.InRoom
	out.JitterSeconds = st.Stats.JitterMs / 1000
	if r := st.Room; r != nil {
		out.Members = len(r.Members)
		if n := r.Network; n != nil {
			out.RTTSeconds = n.RTTMs / 1000
		}
	}
	return out
}
