package audio

import (
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
)

// seq returns n samples counting up from start (mod 2^16), so any reordering
// or loss shows up.
func seq(start, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(start + i)
	}
	return s
}

func TestRingWrap(t *testing.T) {
	g := newRing(3)
	out := make([]int16, hw.FrameSamples)
	next := 0
	// Odd-sized puts walk the write index around the ring many times.
	for round := range 20 {
		in := seq(next, hw.FrameSamples+round*7)
		if d := g.put(in); d != 0 {
			t.Fatalf("round %d: dropped %d frames with room to spare", round, d)
		}
		for g.buffered() >= hw.FrameSamples {
			if !g.tryGet(out) {
				t.Fatal("tryGet failed with a frame buffered")
			}
			if want := seq(int(g.r)-hw.FrameSamples, hw.FrameSamples); !slices.Equal(out, want) {
				t.Fatalf("round %d: frame out of order", round)
			}
		}
		next += len(in)
	}
	if g.tryGet(out) {
		t.Fatal("tryGet returned a partial frame")
	}
}

func TestRingOverrunDropsOldest(t *testing.T) {
	g := newRing(3)
	for f := range 3 {
		if d := g.put(seq(f*hw.FrameSamples, hw.FrameSamples)); d != 0 {
			t.Fatalf("frame %d dropped %d", f, d)
		}
	}
	if d := g.put(seq(3*hw.FrameSamples, 10)); d != 1 {
		t.Fatalf("10 samples into a full ring dropped %d frames, want 1", d)
	}
	out := make([]int16, hw.FrameSamples)
	g.tryGet(out)
	if !slices.Equal(out, seq(hw.FrameSamples, hw.FrameSamples)) {
		t.Fatalf("after overrun the oldest frame was not the one dropped: got %d..", out[0])
	}
	// A put larger than the ring keeps only its newest ring-full.
	g = newRing(2)
	g.put(seq(0, 100))
	if d := g.put(seq(100, 3*hw.FrameSamples)); d != 2 {
		t.Fatalf("oversized put dropped %d frames, want 2", d)
	}
	g.tryGet(out)
	if out[0] != int16(100+hw.FrameSamples) {
		t.Fatalf("oversized put kept %d.., want the newest samples", out[0])
	}
}

func TestRingPlaybackSide(t *testing.T) {
	g := newRing(2)
	if !g.tryPut(seq(0, hw.FrameSamples)) || !g.tryPut(seq(hw.FrameSamples, hw.FrameSamples)) {
		t.Fatal("tryPut failed with room")
	}
	if g.tryPut(seq(0, hw.FrameSamples)) {
		t.Fatal("tryPut succeeded on a full ring")
	}
	dst := make([]int16, 3*hw.FrameSamples)
	if n := g.get(dst); n != 2*hw.FrameSamples || !slices.Equal(dst[:n], seq(0, n)) {
		t.Fatalf("get returned %d samples", n)
	}
	if n := g.get(dst); n != 0 {
		t.Fatalf("get on empty ring returned %d", n)
	}
}

// TestCallbackCopyAllocs: the code that runs on the audio thread allocates
// nothing, including the signal to the reader.
func TestCallbackCopyAllocs(t *testing.T) {
	c := &capture{ring: newRing(captureRingFrames), ready: make(chan struct{}, 1), done: make(chan struct{})}
	in := make([]byte, 2*hw.FrameSamples)
	frame := make([]int16, hw.FrameSamples)
	if a := testing.AllocsPerRun(100, func() {
		c.onData(nil, in, hw.FrameSamples)
		_ = c.Read(frame)
	}); a != 0 {
		t.Errorf("capture callback + Read: %v allocs", a)
	}
	p, err := newPlayback(20 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := make([]int16, hw.FrameSamples)
	if a := testing.AllocsPerRun(100, func() {
		_ = p.WaitReady(len(frame))
		_ = p.Write(frame)
		p.spk.fill(out)
	}); a != 0 {
		t.Errorf("WaitReady + Write + playback callback: %v allocs", a)
	}
	// Overruns are allocation-free too, and counted.
	if a := testing.AllocsPerRun(100, func() { c.onData(nil, in, hw.FrameSamples) }); a != 0 {
		t.Errorf("overrunning capture callback: %v allocs", a)
	}
	if c.Dropped() == 0 {
		t.Error("overruns not counted")
	}
}
