package audio

import (
	"errors"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/voipd/voipd/hw"
)

func newNull(t *testing.T) *System {
	t.Helper()
	s, err := New(Config{Backend: "null"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != "null" {
		t.Fatalf("Backend() = %q", s.Backend())
	}
	return s
}

// waitGoroutines waits (bounded) for the goroutine count to fall back to n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutine leak: %d > %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNullCaptureRate(t *testing.T) {
	g0 := runtime.NumGoroutine()
	deadline := awaitNullClock(t)
	s := newNull(t)
	capt, _, err := s.Devices()
	if err != nil || len(capt) == 0 || !capt[0].Synthetic {
		t.Fatalf("Devices: %v, %v (the null backend's devices are synthetic: no hardware behind them)", capt, err)
	}
	c, err := s.OpenCapture("default")
	if err != nil {
		t.Fatal(err)
	}
	if info := c.Info(); info.Backend != "null" || !info.Synthetic {
		t.Fatalf("Info() = %+v", info)
	}
	frame := make([]int16, hw.FrameSamples)
	start := time.Now()
	const frames = 50 // 1 s of audio
	for range frames {
		if err := c.Read(frame); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	got := float64(c.(*capture).mic.samples().Load())
	if !deadline.IsZero() && time.Now().After(deadline) {
		t.Fatalf("the test outlasted the 4.29 s of correct clock miniaudio's null backend has on 32-bit systems (awaitNullClock): the machine is too slow for its pace to be judged")
	}
	// Generous bounds: this checks that the device clock paces capture at
	// roughly 48 kHz (not unpaced, not stalled), not the machine's speed.
	want := elapsed.Seconds() * hw.SampleRate
	if got < 0.5*want || got > 1.5*want+float64(captureRingFrames*hw.FrameSamples) {
		t.Fatalf("%v samples delivered in %v, want about %v", got, elapsed, want)
	}
	if elapsed < (frames-captureRingFrames-5)*20*time.Millisecond {
		t.Fatalf("read %d frames in %v: capture is not paced", frames, elapsed)
	}
	// Callback lateness is measured against the device clock (reported, not
	// judged: the machine is shared).
	lr, ok := c.(hw.LatenessReporter)
	if !ok {
		t.Fatal("a malgo capture does not report callback lateness")
	}
	worst, late, callbacks := lr.CallbackLateness()
	if callbacks < frames/2 || late > callbacks {
		t.Fatalf("lateness counters: worst %v, %d late of %d callbacks", worst, late, callbacks)
	}
	t.Logf("null backend: %d callbacks, the worst %v late, %d more than a period late", callbacks, worst, late)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Read(frame); !errors.Is(err, hw.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenCapture("default"); !errors.Is(err, hw.ErrClosed) {
		t.Fatalf("OpenCapture after System.Close: %v", err)
	}
	if _, _, err := s.Devices(); !errors.Is(err, hw.ErrClosed) {
		t.Fatalf("Devices after System.Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	waitGoroutines(t, g0)
}

// awaitNullClock leaves a test that judges the null device's pace 4.29 s
// of a correct clock on 32-bit Linux (armhf, under qemu in the ARM test).
// miniaudio's null backend (malgo v0.11.24's miniaudio) reads its clock as
// tv_sec * 1000000000 + tv_nsec in C long, 32 bits there: the product wraps
// modulo 2^32, and when the wrapped count passes 2^31 (every 2^32 ns) the
// time since the device started drops by 2^32 ns, so the device plays as
// fast as it is fed for about 2 s, then stalls until the real time catches
// up. Started just after a passing, the device has 2^32 ns before the next.
// On 64-bit systems there is nothing to wait for.
func awaitNullClock(t *testing.T) (deadline time.Time) {
	t.Helper()
	if strconv.IntSize == 64 {
		return time.Time{}
	}
	for {
		var ts unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			t.Fatal(err)
		}
		v := uint32(uint64(ts.Sec)*1e9 + uint64(ts.Nsec)) // miniaudio's count, as its 32-bit long wraps it
		if v >= 1<<31 && v < 1<<31+200e6 {
			since := uint64(v) - 1<<31 // ns since the passing
			return time.Now().Add(time.Duration(1<<32-since) - 100*time.Millisecond)
		}
		time.Sleep(time.Duration(uint32(1<<31-v)) + time.Millisecond) // to the next passing
	}
}

func TestNullPlaybackPaced(t *testing.T) {
	g0 := runtime.NumGoroutine()
	deadline := awaitNullClock(t)
	s := newNull(t)
	defer s.Close()
	p, err := s.OpenPlayback("default")
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, hw.FrameSamples)
	start := time.Now()
	const frames = 50
	for range frames {
		if err := p.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	// The ring and the device buffer take a few frames at once; the rest
	// must wait for the device clock.
	if elapsed < (frames-playbackRingFrames-5)*20*time.Millisecond {
		t.Fatalf("wrote %d frames in %v: playback is not paced", frames, elapsed)
	}
	pulled := float64(p.(*playback).spk.samples().Load())
	if !deadline.IsZero() && time.Now().After(deadline) {
		t.Fatalf("the test outlasted the 4.29 s of correct clock miniaudio's null backend has on 32-bit systems (awaitNullClock): the machine is too slow for its pace to be judged")
	}
	if want := elapsed.Seconds() * hw.SampleRate; pulled < 0.5*want || pulled > 1.5*want+float64(5*hw.FrameSamples) {
		t.Fatalf("device pulled %v samples in %v, want about %v", pulled, elapsed, want)
	}
	if err := s.Close(); err != nil { // closes p as well
		t.Fatal(err)
	}
	if err := p.Write(frame); !errors.Is(err, hw.ErrClosed) {
		t.Fatalf("Write after System.Close: %v", err)
	}
	waitGoroutines(t, g0)
}

func TestCloseUnblocksRead(t *testing.T) {
	s := newNull(t)
	defer s.Close()
	c, err := s.OpenCapture("default")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		frame := make([]int16, hw.FrameSamples)
		for {
			if err := c.Read(frame); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	c.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, hw.ErrClosed) {
			t.Fatalf("Read ended with %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
}

func TestSyntheticIDs(t *testing.T) {
	s := newNull(t)
	defer s.Close()
	c, err := s.OpenCapture("tone:440")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if info := c.Info(); !info.Synthetic || info.ID != "tone:440" {
		t.Fatalf("tone Info() = %+v", info)
	}
	p, err := s.OpenPlayback("null")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if info := p.Info(); !info.Synthetic {
		t.Fatalf("null sink Info() = %+v", info)
	}
}

func TestOpenErrors(t *testing.T) {
	s := newNull(t)
	defer s.Close()
	for _, tc := range []struct {
		id   string
		want error
	}{
		{"no-such-device", hw.ErrAbsent},
		{"", hw.ErrInvalid},
	} {
		_, err := s.OpenCapture(tc.id)
		var de *hw.DeviceError
		if !errors.Is(err, tc.want) || !errors.As(err, &de) || de.Device != tc.id {
			t.Errorf("OpenCapture(%q) = %v, want a DeviceError of kind %v", tc.id, err, tc.want)
		}
	}
	if _, err := New(Config{Backend: "oss"}); err == nil || !strings.Contains(err.Error(), `"oss"`) || !strings.Contains(err.Error(), runtime.GOOS) {
		t.Errorf("New(oss) = %v, want a refusal naming the backend and the system", err)
	}
	// Another system's backend is refused here the same way.
	other := "coreaudio"
	if runtime.GOOS == "darwin" {
		other = "alsa"
	}
	if _, err := New(Config{Backend: other}); err == nil || !strings.Contains(err.Error(), strings.Join(hw.AudioBackends, ", ")) {
		t.Errorf("New(%s) = %v, want a refusal listing %v", other, err, hw.AudioBackends)
	}
}

// TestNull10msFrames: with audio.frameMs = 10 the devices open with 10 ms
// periods and take 10 ms frames both ways (and a playback's WaitReady
// lets the next Write through at once).
func TestNull10msFrames(t *testing.T) {
	s, err := New(Config{Backend: "null", PeriodMillis: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.OpenCapture("default")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.OpenPlayback("default")
	if err != nil {
		t.Fatal(err)
	}
	frame := make([]int16, 10*hw.SamplesPerMs)
	for range 20 {
		if err := c.Read(frame); err != nil {
			t.Fatal(err)
		}
		if err := p.(hw.ReadyWaiter).WaitReady(len(frame)); err != nil {
			t.Fatal(err)
		}
		if err := p.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Read(make([]int16, 100)); !errors.Is(err, hw.ErrInvalid) {
		t.Fatalf("a frame of 100 samples (not whole milliseconds): %v", err)
	}
}
