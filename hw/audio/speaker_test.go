package audio

import (
	"errors"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
	"golang.org/x/sys/unix"

	"github.com/voipd/voipd/hw"
)

// The speaker's C callback plays what Write queued, in order across the
// ring's wrap, and silence when nothing is queued: an underrun only once
// a frame was written. Each callback counts toward the lateness figures.
func TestSpeakerPlaysInOrder(t *testing.T) {
	p, err := newPlayback(20 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	out := make([]int16, hw.FrameSamples)
	p.spk.fill(out) // before any Write: silence, no underrun
	if p.Dropped() != 0 || slices.ContainsFunc(out, func(v int16) bool { return v != 0 }) {
		t.Fatalf("before any write: %d underruns, out %v...", p.Dropped(), out[:4])
	}
	next := 0
	for i := range 3 * playbackRingFrames { // wraps the ring twice
		if err := p.Write(seq(i*hw.FrameSamples, hw.FrameSamples)); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 { // half-frame reads too: the callback's size is the device's
			for range 2 {
				half := out[:hw.FrameSamples/2]
				p.spk.fill(half)
				if want := seq(next, len(half)); !slices.Equal(half, want) {
					t.Fatalf("frame %d: played %v.., want %v..", i, half[:3], want[:3])
				}
				next += len(half)
			}
			p.spk.fill(out)
			if want := seq(next, len(out)); !slices.Equal(out, want) {
				t.Fatalf("frame %d: played %v.., want %v..", i, out[:3], want[:3])
			}
			next += len(out)
		}
	}
	if p.Dropped() != 0 {
		t.Fatalf("%d underruns while the ring had audio", p.Dropped())
	}
	p.spk.fill(out)
	if p.Dropped() != 1 || slices.ContainsFunc(out, func(v int16) bool { return v != 0 }) {
		t.Fatalf("empty ring: %d underruns (want 1), out %v..", p.Dropped(), out[:4])
	}
	if _, _, n := p.CallbackLateness(); n != 1+3*playbackRingFrames/2*3+1 {
		t.Fatalf("%d callbacks counted", n)
	}
	if got := p.Latency(); got != p.period {
		t.Fatalf("latency of an empty ring %v, want the period %v", got, p.period)
	}
}

// A writer blocked on a full ring wakes when the callback (on another
// thread) makes room, through the fd in Go's poller; Close wakes it too.
func TestSpeakerWakesWriter(t *testing.T) {
	p, err := newPlayback(20 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, hw.FrameSamples)
	for range playbackRingFrames {
		if err := p.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	wrote := make(chan error)
	go func() { wrote <- p.Write(frame) }()
	select {
	case err := <-wrote:
		t.Fatalf("Write into a full ring returned %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	out := make([]int16, hw.FrameSamples)
	go p.spk.fill(out) // as miniaudio's thread would
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	go func() { wrote <- p.Write(frame) }() // full again: blocks
	select {
	case err := <-wrote:
		t.Fatalf("Write into a full ring returned %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	p.Close()
	if err := <-wrote; !errors.Is(err, hw.ErrClosed) {
		t.Fatalf("Write blocked across Close: %v, want closed", err)
	}
	if err := p.WaitReady(len(frame)); !errors.Is(err, hw.ErrClosed) {
		t.Fatalf("WaitReady after Close: %v", err)
	}
}

// The callback wakes the writer only once the ring has the room the writer
// waits for: a writer that keeps the ring full from a wakeup of its own
// and waits for two frames of room meanwhile is not woken each period
// (issue 19). Room says what a Write takes without blocking.
func TestSpeakerWakesForTheRoomWanted(t *testing.T) {
	p, err := newPlayback(20 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	frame := make([]int16, hw.FrameSamples)
	out := make([]int16, hw.FrameSamples)
	for range playbackRingFrames {
		if err := p.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.Room(); got != 0 {
		t.Fatalf("Room of a full ring %d", got)
	}
	// wakes reads what the callbacks wrote to the fd since the last look
	// (nothing waits on it here, so nothing else drains it).
	wakes := func() int {
		var b [64]byte
		var n int
		if err := p.spk.rc.Control(func(fd uintptr) { n, _ = syscall.Read(int(fd), b[:]) }); err != nil {
			t.Fatal(err)
		}
		return max(n, 0)
	}
	p.spk.tell(0)
	p.spk.fill(out)
	if wakes() == 0 {
		t.Fatal("a callback did not wake a writer waiting for any room")
	}
	if got := p.Room(); got != hw.FrameSamples {
		t.Fatalf("Room after a period %d, want a frame (%d)", got, hw.FrameSamples)
	}
	if err := p.Write(frame); err != nil { // the top-up
		t.Fatal(err)
	}
	p.spk.tell(2 * hw.FrameSamples)
	p.spk.fill(out)
	if n := wakes(); n != 0 {
		t.Fatalf("a callback that left one frame of room woke a writer waiting for two (%d bytes)", n)
	}
	p.spk.fill(out)
	if wakes() == 0 {
		t.Fatal("a callback that left two frames of room did not wake a writer waiting for two")
	}

	// Through WaitReady: it tells the callback what it waits for.
	for p.Room() > 0 {
		if err := p.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	ready := make(chan error)
	go func() { ready <- p.WaitReady(2 * hw.FrameSamples) }()
	for atomic.LoadUint64(u64(&p.spk.c.want)) != 2*hw.FrameSamples { // WaitReady told it: the fill below must not be missed
		time.Sleep(time.Millisecond)
	}
	p.spk.fill(out)
	select {
	case err := <-ready:
		t.Fatalf("WaitReady for two frames returned after one period (%v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	p.spk.fill(out)
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
}

// attach writes nothing into a device that does not look like malgo's
// (what a miniaudio with another layout would be).
func TestSpeakerAttachChecksLayout(t *testing.T) {
	p, err := newPlayback(20 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fake := make([]uint64, 32)
	fake[1] = 1 | hw.SampleRate<<32 // a playback device at 48 kHz, but another onData
	if err := p.spk.attachAt(unsafe.Pointer(&fake[0])); !errors.Is(err, errLayout) {
		t.Fatalf("attach to a foreign device: %v", err)
	}
	for i, v := range fake {
		if v != 0 && i != 1 {
			t.Fatalf("attach wrote word %d of a foreign device: %#x", i, v)
		}
	}
}

// A reader blocked on an empty ring wakes when the callback (on another
// thread) delivers a frame, through the fd in Go's poller, and gets that
// frame; Close wakes it too. A mic attaches only to a capture device of
// malgo's layout.
func TestMicWakesReader(t *testing.T) {
	c, err := newCapture(20 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error)
	frame := make([]int16, hw.FrameSamples)
	go func() { got <- c.Read(frame) }()
	select {
	case err := <-got:
		t.Fatalf("Read of an empty ring returned %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	go c.mic.deliver(seq(7, hw.FrameSamples)) // as miniaudio's thread would
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(frame, seq(7, hw.FrameSamples)) {
		t.Fatalf("read %v.., want the frame delivered", frame[:3])
	}
	if _, _, n := c.CallbackLateness(); n != 1 {
		t.Fatalf("%d callbacks counted, want 1", n)
	}
	go func() { got <- c.Read(frame) }()
	select {
	case err := <-got:
		t.Fatalf("Read of an empty ring returned %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	c.Close()
	if err := <-got; !errors.Is(err, hw.ErrClosed) {
		t.Fatalf("Read blocked across Close: %v, want closed", err)
	}

	fake := make([]uint64, 32)
	fake[1] = 2 | hw.SampleRate<<32 // a capture device at 48 kHz, but another onStop
	m, err := newMic(2, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	if err := m.attachAt(unsafe.Pointer(&fake[0])); !errors.Is(err, errLayout) {
		t.Fatalf("attach to a foreign device: %v", err)
	}
	for i, v := range fake {
		if v != 0 && i != 1 {
			t.Fatalf("attach wrote word %d of a foreign device: %#x", i, v)
		}
	}
}

// A device whose C callback cannot be attached (another miniaudio layout)
// is not started: opening it fails as unavailable, naming the cause, and the
// device is released (the same device opens afterwards).
func TestAttachFailureFailsTheOpen(t *testing.T) {
	s := newNull(t)
	defer s.Close()
	if !s.acquire() {
		t.Fatal("system closed")
	}
	_, _, err := s.start("open playback", "default", malgo.Playback, malgo.DeviceCallbacks{}, func(*malgo.Device) error { return errLayout })
	s.release()
	var de *hw.DeviceError
	if !errors.As(err, &de) || de.Kind != hw.ErrUnavailable || !errors.Is(err, errLayout) {
		t.Fatalf("open with a failing attach: %v, want unavailable wrapping %v", err, errLayout)
	}
	p, err := s.OpenPlayback("default")
	if err != nil {
		t.Fatalf("the device after a failed attach: %v", err)
	}
	p.Close()
}

// A signal after close (a stall verdict racing Close) writes nothing, even
// where the closed fd's number now names another file.
func TestWakerSignalAfterClose(t *testing.T) {
	k, err := newWaker("test")
	if err != nil {
		t.Fatal(err)
	}
	var p [2]int
	// Pipe and Dup2 as macOS has them too (no pipe2 or dup3 there; x/sys's
	// Dup2 is dup3 on Linux's arm64, which has no dup2).
	if err := unix.Pipe(p[:]); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	if err := unix.SetNonblock(p[0], true); err != nil {
		t.Fatal(err)
	}
	k.close()
	// The old number now names the pipe's writing end.
	if err := unix.Dup2(p[1], k.w); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(k.w)
	k.signal()
	var b [16]byte
	if n, _ := syscall.Read(p[0], b[:]); n > 0 {
		t.Fatalf("signal after close wrote %d bytes into the file that took the fd's number", n)
	}
	k.close() // twice: nothing
}
