package synth

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
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

func TestToneInfo(t *testing.T) {
	c := NewTone(440, 0.5)
	defer c.Close()
	info := c.Info()
	if info.ID != "tone:440" || info.Backend != "synth" || !info.Synthetic {
		t.Fatalf("Info() = %+v", info)
	}
	if _, ok := c.(hw.DropCounter); !ok {
		t.Fatal("tone does not count drops")
	}
}

// TestTonePacing checks the device-clock invariant: frames handed out plus
// frames dropped equals the number of 20 ms periods elapsed, whatever the
// scheduler did to the reader.
func TestTonePacing(t *testing.T) {
	c := NewTone(440, 0.5).(*Tone)
	defer c.Close()
	start := c.p.start
	frame := make([]int16, hw.FrameSamples)
	const n = 25
	var before int64
	for range n {
		// Periods elapsed before the last Read bound the count from below;
		// periods elapsed after it bound it from above. No scheduling
		// delay can break either bound.
		before = int64(time.Since(start) / framePeriod)
		if err := c.Read(frame); err != nil {
			t.Fatal(err)
		}
	}
	after := int64(time.Since(start) / framePeriod)
	got := int64(n + c.Dropped())
	if got > after || got < before {
		t.Fatalf("read %d + dropped %d frames; %d..%d periods elapsed", n, c.Dropped(), before, after)
	}
}

// TestToneLateReaderDrops: a reader 200 ms late gets the newest frame, the
// missed ones are counted, and it is not handed a burst afterwards.
func TestToneLateReaderDrops(t *testing.T) {
	c := NewTone(440, 0.5).(*Tone)
	defer c.Close()
	frame := make([]int16, hw.FrameSamples)
	time.Sleep(200 * time.Millisecond) // simulate a stalled reader
	if err := c.Read(frame); err != nil {
		t.Fatal(err)
	}
	if d := c.Dropped(); d < 9 {
		t.Fatalf("dropped %d frames after a 200 ms stall, want ≥ 9", d)
	}
	for range 5 {
		if err := c.Read(frame); err != nil {
			t.Fatal(err)
		}
	}
	periods := uint64(time.Since(c.p.start) / framePeriod)
	if got := 6 + c.Dropped(); got > periods {
		t.Fatalf("delivered+dropped %d > %d elapsed periods: a burst", got, periods)
	}
}

func TestToneFrequency(t *testing.T) {
	c := NewTone(440, 0.5)
	defer c.Close()
	buf := make([]int16, 5*hw.FrameSamples)
	for i := 0; i < 5; i++ {
		if err := c.Read(buf[i*hw.FrameSamples : (i+1)*hw.FrameSamples]); err != nil {
			t.Fatal(err)
		}
	}
	p440, p660 := goertzel(buf, 440), goertzel(buf, 660)
	if p440 < 100*p660 {
		t.Fatalf("440 Hz power %g not ≫ 660 Hz power %g", p440, p660)
	}
	var peak int16
	for _, v := range buf {
		peak = max(peak, v)
	}
	if peak < 16000 || peak > 16400 {
		t.Fatalf("peak %d, want about half scale", peak)
	}
}

func TestZeroAllocs(t *testing.T) {
	c := NewTone(440, 0.5)
	defer c.Close()
	v := NewVoice()
	defer v.Close()
	s := NewSink()
	defer s.Close()
	r := NewRecorder(4 * hw.FrameSamples)
	defer r.Close()
	frame := make([]int16, hw.FrameSamples)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"tone", func() { _ = c.Read(frame) }},
		{"voice", func() { _ = v.Read(frame) }},
		{"sink", func() { _ = s.Write(frame) }},
		{"recorder", func() { _ = r.Write(frame) }},
	} {
		if a := testing.AllocsPerRun(10, tc.f); a != 0 {
			t.Errorf("%s: %v allocs per frame", tc.name, a)
		}
	}
}

func TestCloseUnblocks(t *testing.T) {
	frame := make([]int16, hw.FrameSamples)
	tone, sink := NewTone(440, 0.5), NewSink()
	for _, tc := range []struct {
		name  string
		close func() error
		op    func() error
	}{
		{"tone", tone.Close, func() error { return tone.Read(frame) }},
		{"sink", sink.Close, func() error { return sink.Write(frame) }},
	} {
		t.Run(tc.name, func(t *testing.T) { closeUnblocks(t, tc.close, tc.op) })
	}
}

// closeUnblocks runs op until it fails, calls close meanwhile, and checks
// that the pending op ended with ErrClosed and that a later one fails so.
func closeUnblocks(t *testing.T, close, op func() error) {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		for {
			if err := op(); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	if err := close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, hw.ErrClosed) {
			t.Fatalf("after Close: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock the pending call")
	}
	if err := op(); !errors.Is(err, hw.ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
}

func TestBadFrameLength(t *testing.T) {
	c := NewTone(440, 0.5)
	defer c.Close()
	if err := c.Read(make([]int16, 10)); !errors.Is(err, hw.ErrInvalid) {
		t.Fatalf("short frame: %v", err)
	}
}

// TestToneSamples: the tone's samples, made by turning the last one, are
// the sine's own (math.Sin of the phase) to the last bit of an int16, over
// many frames and after frames skipped by a late reader.
func TestToneSamples(t *testing.T) {
	for _, freq := range []float64{440, 1000, 3999.5} {
		c := NewTone(freq, 0.9).(*Tone)
		step := 2 * math.Pi * freq / hw.SampleRate
		frame := make([]int16, hw.FrameSamples)
		var n uint64 // samples since the start, skipped ones too
		for f := 0; f < 60; f++ {
			if f == 30 {
				time.Sleep(3 * hw.FrameMillis * time.Millisecond) // a late reader: frames skipped
			}
			d0 := c.Dropped()
			if err := c.Read(frame); err != nil {
				t.Fatal(err)
			}
			n += (c.Dropped() - d0) * hw.FrameSamples
			for i, v := range frame {
				want := math.Round(c.amp * math.Sin(math.Mod(float64(n+uint64(i))*step, 2*math.Pi)))
				if math.Abs(float64(v)-want) > 1 {
					t.Fatalf("%g Hz: frame %d sample %d is %d, the sine's is %g", freq, f, i, v, want)
				}
			}
			n += hw.FrameSamples
		}
		if c.Dropped() == 0 {
			t.Fatalf("%g Hz: no frame skipped after a reader 60 ms late", freq)
		}
		c.Close()
	}
}

func BenchmarkToneSamples(b *testing.B) {
	c := NewTone(440, 0.5).(*Tone)
	defer c.Close()
	frame := make([]int16, hw.FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		c.fill(frame) // the samples alone, not the pacer's wait
	}
}
