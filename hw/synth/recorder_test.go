package synth

import (
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
)

func TestRecorderKeepsNewest(t *testing.T) {
	r := NewRecorder(2*hw.FrameSamples + 100) // not a multiple: exercises the wrap
	defer r.Close()
	frame := make([]int16, hw.FrameSamples)
	var all []int16
	for f := range 4 {
		for i := range frame {
			frame[i] = int16(f*hw.FrameSamples + i)
		}
		all = append(all, frame...)
		if err := r.Write(frame); err != nil {
			t.Fatal(err)
		}
		want := all[max(0, len(all)-(2*hw.FrameSamples+100)):]
		if got := r.Snapshot(nil); !slices.Equal(got, want) {
			t.Fatalf("after frame %d: snapshot of %d samples, want the last %d written", f, len(got), len(want))
		}
	}
	if r.Frames() != 4 {
		t.Fatalf("Frames() = %d", r.Frames())
	}
}

func TestSinkPacing(t *testing.T) {
	s := NewSink().(*Sink)
	defer s.Close()
	frame := make([]int16, hw.FrameSamples)
	const n = 15
	var before uint64
	for range n {
		before = uint64(time.Since(s.p.start) / framePeriod)
		if err := s.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	after := uint64(time.Since(s.p.start) / framePeriod)
	if got := s.Frames() + s.Dropped(); got > after || got < before {
		t.Fatalf("wrote %d + underran %d; %d..%d periods elapsed", s.Frames(), s.Dropped(), before, after)
	}
	if s.Frames() != n || !s.Info().Synthetic || s.Info().ID != "null" {
		t.Fatalf("Frames %d, Info %+v", s.Frames(), s.Info())
	}
}
