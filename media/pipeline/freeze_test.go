package pipeline

import (
	"testing"
	"time"
)

// TestFreezeMeter: at 15 fps (a 67 ms gap), 200 ms is a freeze (3·avg),
// 150 ms is not; a 6 s gap is a pause, not a freeze; nothing counts before
// the fifth gap.
func TestFreezeMeter(t *testing.T) {
	var m freezeMeter
	now := time.Unix(100, 0)
	step := func(d time.Duration) {
		now = now.Add(d)
		m.frame(now)
	}
	const frame = 66 * time.Millisecond
	step(0)
	step(time.Second) // before 5 gaps: not judged
	for range 40 {
		step(frame)
	}
	if f, _, p, _ := m.totals(); f != 0 || p != 0 {
		t.Fatalf("steady 15 fps: %d freezes, %d pauses", f, p)
	}
	step(150 * time.Millisecond) // under 3·66 = 198 ms
	step(frame)
	step(250 * time.Millisecond)
	for range 30 {
		step(frame)
	}
	step(6 * time.Second)
	f, fs, p, ps := m.totals()
	if f != 1 || fs != 0.25 || p != 1 || ps != 6 {
		t.Fatalf("freezes %d (%.3f s), pauses %d (%.3f s); want 1 (0.25 s), 1 (6 s)", f, fs, p, ps)
	}
}
