package media

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/pion/rtp"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/hw"
)

func TestVolumeScalesInPlace(t *testing.T) {
	v := NewVolume()
	if p, c := v.Get(); p != 1 || c != 1 {
		t.Fatalf("a new Volume is %v/%v, want unity", p, c)
	}
	frame := []int16{1000, -1000, 32767, -32768}
	v.ApplyPlayback(frame)
	v.ApplyCapture(frame)
	if frame[0] != 1000 || frame[3] != -32768 {
		t.Fatalf("unity gain changed the frame: %v", frame)
	}
	v.SetPlayback(0.5)
	v.SetCapture(0)
	v.ApplyPlayback(frame)
	if frame[0] != 500 || frame[1] != -500 || frame[2] != 16383 || frame[3] != -16384 {
		t.Fatalf("half playback gain: %v", frame)
	}
	v.ApplyCapture(frame)
	for _, s := range frame {
		if s != 0 {
			t.Fatalf("zero capture gain: %v", frame)
		}
	}
	var none *Volume
	none.ApplyPlayback(frame) // a nil Volume is unity, not a panic
	if p, c := none.Get(); p != 1 || c != 1 {
		t.Fatalf("nil Volume reads %v/%v", p, c)
	}
}

func TestVolumeDoesNotAllocate(t *testing.T) {
	v := NewVolume()
	v.SetPlayback(0.7)
	v.SetCapture(0.3)
	frame := make([]int16, hw.FrameSamples)
	if a := testing.AllocsPerRun(100, func() { v.ApplyPlayback(frame); v.ApplyCapture(frame) }); a != 0 {
		t.Fatalf("applying the volume allocates %v times a frame", a)
	}
}

// TestRingerPattern: the tone plays for On frames at the tone's frequency
// and is silent for Off frames; a WAV replaces the tone and loops.
func TestRingerPattern(t *testing.T) {
	r := &ringer{tone: RingTone{Hz: 450, On: 2, Off: 3}}
	frame := make([]int16, hw.FrameSamples)
	for n := range 10 {
		r.fill(frame)
		on := n%5 < 2
		level := dsp.LevelLinear(frame)
		switch {
		case on && dsp.Goertzel(frame, 450, hw.SampleRate) < 10*dsp.Goertzel(frame, 700, hw.SampleRate):
			t.Fatalf("frame %d: not a 450 Hz tone", n)
		case on && level < 0.1:
			t.Fatalf("frame %d: level %.3f, want the tone", n, level)
		case !on && level != 0:
			t.Fatalf("frame %d: level %.3f, want silence", n, level)
		}
	}
	wav := []int16{1, 2, 3}
	w := &ringer{tone: Ringtone, wav: wav}
	small := make([]int16, 7)
	w.fill(small)
	if want := []int16{1, 2, 3, 1, 2, 3, 1}; !slices.Equal(small, want) {
		t.Fatalf("WAV ring %v, want %v", small, want)
	}
	w.fill(small)
	if want := []int16{2, 3, 1, 2, 3, 1, 2}; !slices.Equal(small, want) {
		t.Fatalf("WAV ring continues %v, want %v", small, want)
	}
}

func TestRingerDoesNotAllocate(t *testing.T) {
	r := &ringer{tone: Ringback}
	frame := make([]int16, hw.FrameSamples)
	if a := testing.AllocsPerRun(300, func() { r.fill(frame) }); a != 0 {
		t.Fatalf("a ring frame allocates %v times", a)
	}
}

// speaker records what Ring writes, and fails after max frames.
type speaker struct {
	mu     sync.Mutex
	frames int
	peak   int16
	max    int
	wrote  chan struct{}
}

func (s *speaker) Write(f []int16) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frames == s.max {
		return errors.New("closed")
	}
	s.frames++
	for _, v := range f {
		s.peak = max(s.peak, v)
	}
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return nil
}

// TestRingStopsAndScales: Ring plays at the playback volume until stop,
// which returns after the last write and may be called twice; a device
// that fails ends the ring by itself; a nil device rings nothing.
func TestRingStopsAndScales(t *testing.T) {
	vol := NewVolume()
	vol.SetPlayback(0.5)
	sp := &speaker{max: -1, wrote: make(chan struct{}, 1)}
	stop := Ring(sp, Ringtone, nil, vol)
	for range 3 {
		<-sp.wrote
	}
	stop()
	sp.mu.Lock()
	n, peak := sp.frames, sp.peak
	sp.mu.Unlock()
	stop()
	sp.mu.Lock()
	after := sp.frames
	sp.mu.Unlock()
	if after != n {
		t.Fatalf("%d frames written after stop returned", after-n)
	}
	amp := float64(ringAmplitude)
	if want := int16(amp * 0.5); peak < want-3 || peak > want {
		t.Fatalf("peak %d at half volume, want about %d", peak, want)
	}
	failing := &speaker{max: 2, wrote: make(chan struct{}, 1)}
	Ring(failing, Ringback, nil, nil)() // returns: the ring ended at the failed write
	Ring(nil, Ringtone, nil, nil)()
}

type recorder struct {
	seqs []uint16
	err  error
}

func (r *recorder) WriteRTP(p *rtp.Packet) error {
	r.seqs = append(r.seqs, p.SequenceNumber)
	return r.err
}

// TestTrackWriterContinuesAcrossSenders: two senders (a camera switch)
// with their own sequence numbers reach the room as one consecutive
// stream; the display gets the same packets, and only while set.
func TestTrackWriterContinuesAcrossSenders(t *testing.T) {
	room, disp := &recorder{}, &recorder{}
	w := NewTrackWriter(room)
	w.SetDisplay(disp)
	for _, seq := range []uint16{40000, 40001, 40002} {
		if err := w.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq}}); err != nil {
			t.Fatal(err)
		}
	}
	w.SetDisplay(nil)
	for _, seq := range []uint16{7, 8} { // the next sender starts afresh
		w.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq}})
	}
	if want := []uint16{0, 1, 2, 3, 4}; !slices.Equal(room.seqs, want) {
		t.Fatalf("room got %v, want %v", room.seqs, want)
	}
	if want := []uint16{0, 1, 2}; !slices.Equal(disp.seqs, want) {
		t.Fatalf("display got %v, want %v", disp.seqs, want)
	}
	room.err = errors.New("track closed")
	if err := w.WriteRTP(&rtp.Packet{}); err == nil {
		t.Fatal("the room's error was not returned")
	}
}

type discard struct{}

func (discard) WriteRTP(*rtp.Packet) error { return nil }

func TestTrackWriterDoesNotAllocate(t *testing.T) {
	w := NewTrackWriter(discard{})
	w.SetDisplay(discard{})
	p := &rtp.Packet{Payload: make([]byte, 1000)}
	if a := testing.AllocsPerRun(1000, func() { w.WriteRTP(p) }); a != 0 {
		t.Fatalf("WriteRTP allocates %v times a packet", a)
	}
}
