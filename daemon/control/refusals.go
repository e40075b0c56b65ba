package control

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// refusalLogEvery spaces the log lines about refused connections: a flood
// of hundreds writes one line with a count, not a line each.
const refusalLogEvery = 10 * time.Second

// refusalLog counts refused connections and logs them at most once per
// refusalLogEvery: the first of a burst at once, the rest with their count
// when the interval ends.
type refusalLog struct {
	log   *slog.Logger
	total atomic.Uint64

	mu      sync.Mutex
	last    time.Time   // the last line written
	pending int         // refusals since, not logged yet
	why     string      // the latest reason
	uid     uint32      // and its peer's uid
	timer   *time.Timer // writes the pending count when the interval ends
	stopped bool
}

func (r *refusalLog) note(why string, p Peer) {
	r.total.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.why, r.uid = why, p.UID
	now := time.Now()
	if now.Sub(r.last) >= refusalLogEvery && r.pending == 0 {
		r.last = now
		r.log.Warn("control: refused a connection", "why", why, "uid", p.UID)
		return
	}
	r.pending++
	if r.timer == nil && !r.stopped {
		r.timer = time.AfterFunc(r.last.Add(refusalLogEvery).Sub(now), r.flush)
	}
}

func (r *refusalLog) flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timer = nil
	if r.pending == 0 || r.stopped {
		return
	}
	r.log.Warn("control: refused connections", "count", r.pending, "since", r.last.Format(time.TimeOnly),
		"lastWhy", r.why, "lastUid", r.uid)
	r.last, r.pending = time.Now(), 0
}

// stop writes what is pending and stops the timer (the server closes).
func (r *refusalLog) stop() {
	r.mu.Lock()
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.mu.Unlock()
	r.flush()
	r.mu.Lock()
	r.stopped = true
	r.mu.Unlock()
}
