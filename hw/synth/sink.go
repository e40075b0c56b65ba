package synth

import (
	"sync"
	"time"

	"github.com/voipd/voipd/hw"
)

// Sink is a synthetic speaker that discards audio at the device pace. It
// implements hw.Playback and hw.DropCounter (frames the writer was too late
// for, which a real device would have filled with silence).
type Sink struct {
	p    *pacer
	info hw.DeviceInfo
	// A slot WaitReady waited for, which the next Write of readyN
	// samples takes (the writer's goroutine only).
	ready    bool
	readyN   int
	readyDue time.Time
}

// NewSink returns a playback device that accepts frames at the sample rate and
// discards it.
func NewSink() hw.Playback {
	return newSink("null", "synthetic null sink")
}

func newSink(id, name string) *Sink {
	return &Sink{p: newPacer(), info: hw.DeviceInfo{ID: id, Name: name, Backend: "synth", Synthetic: true}}
}

// Write blocks until the device is ready for the next frame, then drops it.
func (s *Sink) Write(frame []int16) error {
	if err := checkLen("write", s.info.ID, len(frame)); err != nil {
		return err
	}
	_, err := s.slot(len(frame))
	return err
}

// WaitReady blocks until the device's slot for the next frame of samples
// comes up; the next Write of that many samples takes the slot at once.
func (s *Sink) WaitReady(samples int) error {
	if err := checkLen("wait", s.info.ID, samples); err != nil {
		return err
	}
	if s.ready && s.readyN == samples {
		return nil
	}
	due, _, err := s.p.wait("wait", s.info.ID, samples)
	if err != nil {
		return err
	}
	s.ready, s.readyN, s.readyDue = true, samples, due
	return nil
}

// slot waits for the slot of a frame of n samples (unless WaitReady did)
// and returns when it was due on the device clock.
func (s *Sink) slot(n int) (time.Time, error) {
	if s.ready && s.readyN == n {
		s.ready = false
		select {
		case <-s.p.done:
			return time.Time{}, &hw.DeviceError{Op: "write", Device: s.info.ID, Kind: hw.ErrClosed}
		default:
			return s.readyDue, nil
		}
	}
	due, _, err := s.p.wait("write", s.info.ID, n)
	return due, err
}

// Info describes the sink; Synthetic is true.
func (s *Sink) Info() hw.DeviceInfo { return s.info }

// Dropped counts frame slots that passed with no Write (underruns).
func (s *Sink) Dropped() uint64 { return s.p.dropped.Load() }

// Frames counts frames written.
func (s *Sink) Frames() uint64 { return s.p.frames.Load() }

// Close unblocks a pending Write; later Writes return an error wrapping
// hw.ErrClosed.
func (s *Sink) Close() error {
	s.p.close()
	return nil
}

// Recorder is a paced synthetic speaker that keeps the most recent samples
// written to it, so tests can check what "the speaker" played.
type Recorder struct {
	*Sink
	mu   sync.Mutex // guards ring and pos; held only for copies
	ring []int16
	pos  int  // next write index in ring
	full bool // ring has wrapped at least once
}

// NewRecorder returns a paced playback device that keeps the last
// keepSamples samples written (at least one frame's worth).
func NewRecorder(keepSamples int) *Recorder {
	keepSamples = max(keepSamples, hw.FrameSamples)
	return &Recorder{Sink: newSink("recorder", "synthetic recording sink"), ring: make([]int16, keepSamples)}
}

// Write blocks until the device is ready for the next frame, then keeps it.
func (r *Recorder) Write(frame []int16) error {
	if err := r.Sink.Write(frame); err != nil {
		return err
	}
	r.mu.Lock()
	src := frame
	for len(src) > 0 {
		n := copy(r.ring[r.pos:], src)
		src = src[n:]
		r.pos += n
		if r.pos == len(r.ring) {
			r.pos, r.full = 0, true
		}
	}
	r.mu.Unlock()
	return nil
}

// Snapshot appends the kept samples, oldest first, to dst[:0] and returns it.
func (r *Recorder) Snapshot(dst []int16) []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	dst = dst[:0]
	if r.full {
		dst = append(dst, r.ring[r.pos:]...)
	}
	return append(dst, r.ring[:r.pos]...)
}

var (
	_ hw.Capture     = (*Tone)(nil)
	_ hw.DropCounter = (*Tone)(nil)
	_ hw.Playback    = (*Sink)(nil)
	_ hw.DropCounter = (*Sink)(nil)
	_ hw.Playback    = (*Recorder)(nil)
	_ hw.ReadyWaiter = (*Sink)(nil)
)
