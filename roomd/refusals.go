package roomd

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// refusalLogEvery is how often refused connections and joins are logged at
// most. A flood from outside must not write a line each: it would fill
// the disk and bury everything else.
const refusalLogEvery = 10 * time.Second

// refusalLog logs refusals — connections refused by the per-address
// limits, and first messages refused (bad signatures, malformed, none
// within the handshake timeout) — at most once per interval: the first of
// a quiet spell at once and in full, then, each interval while more come,
// one line with how many there were by reason. Every line has "count"; the
// counts add up to every refusal.
type refusalLog struct {
	log   *slog.Logger
	every time.Duration

	mu     sync.Mutex
	counts map[string]int // refusals since the last line, by reason
	total  int
	last   string      // the address of the last one counted
	limits bool        // a per-address limit refused one since the last line
	timer  *time.Timer // runs while an interval is open
	closed bool
	// counted, if set, hears of every refusal (metrics count them all,
	// logged or not).
	counted func(reason string)
}

func newRefusalLog(log *slog.Logger, every time.Duration) *refusalLog {
	return &refusalLog{log: log, every: every, counts: map[string]int{}}
}

// add records one refusal. detail says why, for people; it must hold no
// signature, token or ticket (rejection messages never do).
func (r *refusalLog) add(reason, remote, detail string) {
	if r.counted != nil {
		r.counted(reason)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if r.timer == nil {
		r.log.Log(context.Background(), levelOf(isLimit(reason)), "refused",
			"reason", reason, "remote", remote, "detail", truncate(detail, maxDetail), "count", 1)
		r.timer = time.AfterFunc(r.every, r.tick)
		return
	}
	r.counts[reason]++
	r.total++
	r.last = remote
	r.limits = r.limits || isLimit(reason)
}

// tick ends an interval: the refusals counted in it are logged, and the
// next interval opens if there were any, else the log is quiet again.
func (r *refusalLog) tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if r.total == 0 {
		r.timer = nil
		return
	}
	r.flushLocked()
	r.timer.Reset(r.every)
}

// close logs what is counted and stops: the server is closing.
func (r *refusalLog) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.total > 0 {
		r.flushLocked()
	}
}

func (r *refusalLog) flushLocked() {
	attrs := []any{"count", r.total, "lastRemote", r.last}
	for _, reason := range slices.Sorted(maps.Keys(r.counts)) {
		attrs = append(attrs, slog.Int(reason, r.counts[reason]))
	}
	r.log.Log(context.Background(), levelOf(r.limits), "refused", attrs...)
	clear(r.counts)
	r.total, r.last, r.limits = 0, "", false
}

// maxDetail bounds a refusal's detail in the log: a validation error may
// quote what the client sent (an unknown kind of 64 KiB), and the log is
// no place for that.
const maxDetail = 200

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// isLimit reports a refusal by the per-address limits: an operator wants
// to see those (an office NAT at its limit, or an attack), so they are
// warnings; refused joins are everyday events.
func isLimit(reason string) bool { return reason == refusedRate || reason == refusedPending }

func levelOf(warn bool) slog.Level {
	if warn {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
