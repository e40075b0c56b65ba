package audio

import (
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/internal/syscalltrace"
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

// newTestMic is a microphone ring of frames frames, no device.
func newTestMic(t *testing.T, frames int) *mic {
	t.Helper()
	m, err := newMic(frames, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.close)
	return m
}

func TestRingWrap(t *testing.T) {
	g := newTestMic(t, 3)
	out := make([]int16, hw.FrameSamples)
	next, read := 0, 0
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
			if want := seq(read, hw.FrameSamples); !slices.Equal(out, want) {
				t.Fatalf("round %d: frame out of order", round)
			}
			read += hw.FrameSamples
		}
		next += len(in)
	}
	if g.tryGet(out) {
		t.Fatal("tryGet returned a partial frame")
	}
}

func TestRingOverrunDropsOldest(t *testing.T) {
	g := newTestMic(t, 3)
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
	g = newTestMic(t, 2)
	g.put(seq(0, 100))
	if d := g.put(seq(100, 3*hw.FrameSamples)); d != 2 {
		t.Fatalf("oversized put dropped %d frames, want 2", d)
	}
	g.tryGet(out)
	if out[0] != int16(100+hw.FrameSamples) {
		t.Fatalf("oversized put kept %d.., want the newest samples", out[0])
	}
}

// TestCallbackCopyAllocs: the reader's and writer's side allocate nothing,
// nor does the callbacks' code (C) with them.
func TestCallbackCopyAllocs(t *testing.T) {
	c, err := newCapture(20 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	in := make([]int16, hw.FrameSamples)
	frame := make([]int16, hw.FrameSamples)
	if a := testing.AllocsPerRun(100, func() {
		c.mic.deliver(in)
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
	if a := testing.AllocsPerRun(100, func() { c.mic.deliver(in) }); a != 0 {
		t.Errorf("overrunning capture callback: %v allocs", a)
	}
	if c.Dropped() == 0 {
		t.Error("overruns not counted")
	}
}

// TestRingReaderNoSyscallState: the reader's side of the microphone ring
// (tryGet, buffered) and the writer's side of the speaker's (tryPut,
// buffered) enter no syscall state: each entry after the process went idle
// would wake the runtime's monitor thread, once a period (issue 19).
func TestRingReaderNoSyscallState(t *testing.T) {
	m := newTestMic(t, 3)
	s, err := newSpeaker(3, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	frame, out := seq(0, hw.FrameSamples), make([]int16, hw.FrameSamples)
	for range 3 {
		m.deliver(frame) // the device thread's side, a cgo call here
	}
	got, put := 0, 0
	if n := syscalltrace.Entries(t, func() {
		for m.buffered() >= hw.FrameSamples && m.tryGet(out) {
			got++
		}
		for s.buffered() < 3*hw.FrameSamples && s.tryPut(frame) {
			put++
		}
	}); n != 0 {
		t.Errorf("%d syscall-state entries reading the microphone's ring and filling the speaker's, want 0", n)
	}
	if got != 3 || put != 3 {
		t.Errorf("read %d frames, queued %d, want 3 and 3", got, put)
	}
}
