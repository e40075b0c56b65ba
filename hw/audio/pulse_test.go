package audio

import (
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/audio/pulsetest"
)

// goertzel returns the power of freq in x (sampled at hw.SampleRate).
func goertzel(x []int16, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/hw.SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// TestPulseCapturesSine captures the null sink's monitor of a real
// PulseAudio server through malgo's pulse backend and checks it hears the
// 440 Hz sine module-sine plays into the sink.
func TestPulseCapturesSine(t *testing.T) {
	srv := pulsetest.Start(t, 440)
	srv.Setenv(t)
	s, err := New(Config{Backend: "auto"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Backend() != "pulse" {
		t.Fatalf("auto picked %q with a pulse server running", s.Backend())
	}
	capt, play, err := s.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(capt, func(d hw.DeviceInfo) bool { return d.ID == srv.MonitorSource() }) {
		t.Fatalf("Devices() capture %+v lacks %s", capt, srv.MonitorSource())
	}
	if !slices.ContainsFunc(play, func(d hw.DeviceInfo) bool { return d.ID == srv.Sink() }) {
		t.Fatalf("Devices() playback %+v lacks %s", play, srv.Sink())
	}
	// pulsetest makes the monitor the server's default source.
	if !slices.ContainsFunc(capt, func(d hw.DeviceInfo) bool {
		return d.ID == srv.MonitorSource() && d.Default && d.Backend == "pulse"
	}) {
		t.Fatalf("Devices() capture %+v: %s not the default", capt, srv.MonitorSource())
	}

	c, err := s.OpenCapture(srv.MonitorSource())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 1.5 s of audio: the first callback can take 1–2 s to arrive, so the
	// bound is the overall deadline below, not per frame.
	buf := make([]int16, 75*hw.FrameSamples)
	deadline := time.AfterFunc(20*time.Second, func() { c.Close() })
	defer deadline.Stop()
	for i := 0; i < 75; i++ {
		if err := c.Read(buf[i*hw.FrameSamples : (i+1)*hw.FrameSamples]); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	// Judge the last second: the stream may start with silence.
	tail := buf[len(buf)-50*hw.FrameSamples:]
	p440, p660 := goertzel(tail, 440), goertzel(tail, 660)
	if p440 == 0 || p440 < 100*p660 {
		t.Fatalf("captured audio is not a 440 Hz tone: P(440)=%g P(660)=%g", p440, p660)
	}
}

// TestPulsePlayback plays into the null sink: writes are accepted and paced.
func TestPulsePlayback(t *testing.T) {
	srv := pulsetest.Start(t, 440)
	srv.Setenv(t)
	s, err := New(Config{Backend: "pulse"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.OpenPlayback(srv.Sink())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	deadline := time.AfterFunc(20*time.Second, func() { p.Close() })
	defer deadline.Stop()
	frame := make([]int16, hw.FrameSamples)
	for i := range frame {
		frame[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/hw.SampleRate))
	}
	start := time.Now()
	const frames = 50
	for i := range frames {
		if err := p.Write(frame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if elapsed := time.Since(start); elapsed < 500*time.Millisecond {
		t.Fatalf("wrote %d frames (1 s) in %v: playback is not paced", frames, elapsed)
	}
	if pulled := p.(*playback).spk.samples().Load(); pulled < 30*hw.FrameSamples {
		t.Fatalf("server pulled only %d samples", pulled)
	}
}

// TestPulseSinkRemoved: the sink (and with it its monitor) unloaded under
// open streams, as an unplugged card. miniaudio gets no word of it; the
// stall watch turns the silence into an unavailable error for the blocked
// reader and writer, and closing the dead devices returns.
func TestPulseSinkRemoved(t *testing.T) {
	srv := pulsetest.Start(t, 440)
	srv.Setenv(t)
	s, err := New(Config{Backend: "pulse"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.OpenCapture(srv.MonitorSource())
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.OpenPlayback(srv.Sink())
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.AfterFunc(60*time.Second, func() { c.Close(); p.Close() })
	defer deadline.Stop()
	frame := make([]int16, hw.FrameSamples)
	for i := range 50 { // both flowing first
		if err := c.Read(frame); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if err := p.Write(frame); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	srv.RemoveSink(t)
	errs := make(chan error, 2)
	go func() {
		for {
			if err := c.Read(frame); err != nil {
				errs <- err
				return
			}
		}
	}()
	go func() {
		out := make([]int16, hw.FrameSamples)
		for {
			if err := p.Write(out); err != nil {
				errs <- err
				return
			}
		}
	}()
	for range 2 {
		err := <-errs
		if !errors.Is(err, hw.ErrUnavailable) {
			t.Fatalf("after the sink went: %v, want unavailable", err)
		}
		t.Logf("after the sink went: %v", err)
	}
	c.Close()
	p.Close()
}

// TestPulseConcurrentUse: listing and opening from several goroutines at
// once (a lost microphone and speaker reopened together, listDevices
// during a join) is safe: miniaudio's context is entered by one at a time.
// Unserialised, PulseAudio aborted the process ("m->state ==
// STATE_PASSIVE" in pa_mainloop_prepare).
func TestPulseConcurrentUse(t *testing.T) {
	srv := pulsetest.Start(t, 440)
	srv.Setenv(t)
	s, err := New(Config{Backend: "pulse"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 3 {
			case 0:
				_, _, err := s.Devices()
				errs <- err
			case 1:
				c, err := s.OpenCapture(srv.MonitorSource())
				if err == nil {
					c.Close()
				}
				errs <- err
			default:
				p, err := s.OpenPlayback(srv.Sink())
				if err == nil {
					p.Close()
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
