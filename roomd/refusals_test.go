package roomd

import (
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// A burst of refusals is one line at once and one when the interval ends,
// whose counts add up to the burst; after a quiet interval the next
// refusal is logged at once again.
func TestRefusalLogTicks(t *testing.T) {
	var lines lineLog
	const every = 50 * time.Millisecond
	r := newRefusalLog(slog.New(lineHandler{&lines}), every)
	start := time.Now()
	for i := range 1000 {
		r.add(refusedRate, fmt.Sprintf("192.0.2.%d", i%200), "too many joins")
	}
	elapsed := time.Since(start)
	waitFor(t, "the interval's line", func() bool { _, sum := lines.refused(); return sum == 1000 })
	n, _ := lines.refused()
	t.Logf("1000 refusals over %v logged in %d lines", elapsed.Round(time.Microsecond), n)
	// One line at once, then one per interval the burst lasted into.
	if most := 2 + int(elapsed/every); n > most {
		t.Fatalf("1000 refusals over %v logged in %d lines, want at most %d", elapsed, n, most)
	}
	waitFor(t, "the log quiet again", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.timer == nil
	})
	r.add(refusedPending, "192.0.2.1", "waiting to join")
	if m, _ := lines.refused(); m != n+1 {
		t.Fatalf("a refusal after a quiet interval: %d lines, want %d (logged at once)", m, n+1)
	}
	r.close()
	r.add(refusedRate, "192.0.2.1", "after close")
	if m, sum := lines.refused(); m != n+1 || sum != 1001 {
		t.Fatalf("after close: %d lines adding up to %d, want %d and 1001", m, sum, n+1)
	}
}
