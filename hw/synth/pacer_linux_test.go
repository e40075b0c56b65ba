package synth

import (
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/internal/syscalltrace"
)

// TestPacerOnTimerfd: on Linux the synthetic devices sleep on a timerfd in
// Go's poller, and a period's wait enters no syscall state (no Go timer,
// no system call the runtime sees: nothing wakes its monitor thread).
func TestPacerOnTimerfd(t *testing.T) {
	c := NewTone(440, 0.5).(*Tone)
	defer c.Close()
	if _, ok := c.p.sleeper.(*fdSleeper); !ok {
		t.Fatalf("the tone sleeps on a %T, want *fdSleeper", c.p.sleeper)
	}
	frame := make([]int16, hw.FrameSamples)
	var failed error
	if n := syscalltrace.Entries(t, func() {
		for range 10 {
			if err := c.Read(frame); err != nil {
				failed = err
			}
		}
	}); n != 0 {
		t.Errorf("%d syscall-state entries in 10 paced reads, want 0", n)
	}
	if failed != nil {
		t.Fatal(failed)
	}
	if c.p.frames.Load() != 10 {
		t.Errorf("%d frames handed out, want 10", c.p.frames.Load())
	}
}

// TestPacerOnGoTimer: the fallback where there is no timerfd (macOS, or
// no file descriptor left) paces the same and unblocks on Close.
func TestPacerOnGoTimer(t *testing.T) {
	c := NewTone(440, 0.5).(*Tone)
	c.p.sleeper.close()
	c.p.sleeper = newTimerSleeper(c.p.done)
	start := c.p.start
	frame := make([]int16, hw.FrameSamples)
	before := int64(0)
	for range 10 {
		before = int64(time.Since(start) / framePeriod)
		if err := c.Read(frame); err != nil {
			t.Fatal(err)
		}
	}
	after := int64(time.Since(start) / framePeriod)
	if got := int64(10 + c.Dropped()); got > after || got < before {
		t.Fatalf("read 10 + dropped %d frames; %d..%d periods elapsed", c.Dropped(), before, after)
	}
	closeUnblocks(t, c.Close, func() error { return c.Read(frame) })
}

// TestPacerReArm: a wait whose instant has passed returns at once, and a
// re-armed timer never wakes for an earlier expiry (re-arming clears it):
// frames come one period apart, never two in one wakeup.
func TestPacerReArm(t *testing.T) {
	s, err := newFDSleeper()
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if !s.until(time.Now().Add(-time.Second)) {
		t.Fatal("a past instant: until returned false")
	}
	// Armed for 1 h, then re-armed for 10 ms: the wait ends after the
	// 10 ms (a stale expiry would end it at once; none is pending).
	s.spec.Value = s.clock.nanosTimespec(time.Now().Add(time.Hour))
	if err := s.rc.Control(s.arm); err != nil || s.errno != 0 {
		t.Fatal(err, s.errno)
	}
	start := time.Now()
	if !s.until(start.Add(10 * time.Millisecond)) {
		t.Fatal("until returned false")
	}
	if d := time.Since(start); d < 10*time.Millisecond {
		t.Errorf("woke after %v, before the 10 ms it was armed for", d)
	}
}
