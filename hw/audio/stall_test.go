package audio

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestStallWatch: the watch allows stallFirst before the first callback and
// stallAfter between callbacks, judged on the times it is given.
func TestStallWatch(t *testing.T) {
	var n atomic.Uint64
	t0 := time.Unix(1000, 0)
	w := newStallWatch(&n, t0, 10*time.Second, 2*time.Second)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	if w.stalled(at(9 * time.Second)) {
		t.Fatal("stalled before the first callback's allowance ran out")
	}
	n.Add(480)
	if w.stalled(at(9500 * time.Millisecond)) {
		t.Fatal("stalled at a tick where the counter moved")
	}
	if w.stalled(at(11 * time.Second)) {
		t.Fatal("stalled 1.5 s after the last callback (allowance 2 s)")
	}
	n.Add(480)
	if w.stalled(at(13 * time.Second)) {
		t.Fatal("stalled at a tick where the counter moved")
	}
	if !w.stalled(at(15 * time.Second)) {
		t.Fatal("not stalled 2 s after the last callback")
	}

	var never atomic.Uint64
	w = newStallWatch(&never, t0, 10*time.Second, 2*time.Second)
	if w.stalled(at(5 * time.Second)) {
		t.Fatal("a device that never called back judged at 5 s, allowance 10 s")
	}
	if !w.stalled(at(10 * time.Second)) {
		t.Fatal("a device that never called back not stalled after 10 s")
	}
}
