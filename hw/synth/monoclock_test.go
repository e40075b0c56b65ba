package synth

import (
	"testing"
	"time"
)

// The mapped clock never runs backwards, agrees with a fresh reading of the
// shared clock taken beside it, and advances as Go's clock does.
func TestMonoClock(t *testing.T) {
	c, err := newMonoClock()
	if err != nil {
		t.Fatal(err)
	}
	prev := c.nanos(time.Now())
	for i := 0; i < 1000; i++ {
		n := c.nanos(time.Now())
		if n < prev {
			t.Fatalf("reading %d: %d ns after %d ns: the clock ran backwards", i, n, prev)
		}
		prev = n
	}

	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	before, err := sharedNow()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	after, err := sharedNow()
	if err != nil {
		t.Fatal(err)
	}
	mapped := c.nanos(now)
	// The mapping's error is how far apart its own pair of readings was:
	// microseconds, a few milliseconds on a loaded machine at most.
	const slack = int64(5 * time.Millisecond)
	if mapped < before-slack || mapped > after+slack {
		t.Errorf("mapped %d ns, outside the shared clock's readings [%d, %d] around it (±%d)", mapped, before, after, slack)
	}
	if d := c.nanos(now) - c.nanos(start); d < int64(20*time.Millisecond) {
		t.Errorf("20 ms of sleep advanced the mapped clock by %v", time.Duration(d))
	}
	if after <= 0 {
		t.Errorf("the shared clock reads %d ns: not a monotonic time since boot", after)
	}
}
