package synth

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/voipd/voipd/hw"
)

// Mouth to ear between processes: a click source stands in for the
// microphone of one daemon and a click detector for the speaker of
// another. Both append what they did to a file named in the device id, in
// nanoseconds of the machine's shared monotonic clock (CLOCK_MONOTONIC on
// Linux, CLOCK_UPTIME_RAW on macOS: monoclock.go; one clock for all the
// processes of one machine), one event a line:
//
//	click CAPTURED DELIVERED   a click's first sample entered the microphone
//	                           (the start of its frame on the device clock)
//	                           and its frame was handed to the reader
//	heard PLAYED               a click's onset leaves the speaker: the frame
//	                           holding it was taken at its slot and plays
//	                           one frame later (the device holds a period)
//
// A benchmark pairs each heard with the latest click sent before it.
// The click: a 5 ms burst of 1 kHz at half of full scale, every ClickEvery
// after at least that much silence (so DTX starts a talkspurt with each).
const (
	ClickBurst     = hw.SampleRate / 200
	ClickAmplitude = 16000
	ClickEvery     = hw.SampleRate / 2 // samples: 0.5 s
)

// WriteClick fills frame with silence and, when click is set, a burst
// starting at its first sample.
func WriteClick(frame []int16, click bool) {
	clear(frame)
	if !click {
		return
	}
	for i := 0; i < ClickBurst && i < len(frame); i++ {
		frame[i] = int16(ClickAmplitude * math.Sin(2*math.Pi*1000*float64(i)/hw.SampleRate))
	}
}

// Detector finds click onsets in a stream of frames: the first sample whose
// magnitude reaches Threshold after at least Quiet samples below it.
type Detector struct {
	Threshold int
	Quiet     int // samples below the threshold that re-arm the detector
	below     int
	armed     bool
}

// NewDetector returns a detector for clicks of ClickAmplitude that passed
// a lossy codec (a quarter of the amplitude), re-armed after 100 ms.
func NewDetector() *Detector {
	return &Detector{Threshold: ClickAmplitude / 4, Quiet: hw.SampleRate / 10}
}

// Feed scans one frame and returns the sample offset of an onset in it.
func (d *Detector) Feed(frame []int16) (offset int, found bool) {
	offset = -1
	for i, s := range frame {
		if v := int(s); v >= d.Threshold || -v >= d.Threshold {
			if d.armed && offset < 0 {
				offset, found = i, true
				d.armed = false
			}
			d.below = 0
			continue
		}
		d.below++
		if d.below >= d.Quiet {
			d.armed = true
		}
	}
	return offset, found
}

// eventLog appends lines to a file through a reused buffer: no allocation.
type eventLog struct {
	f   *os.File
	buf [80]byte
}

func openEventLog(op, id, path string) (*eventLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		kind := hw.ErrUnavailable
		switch {
		case errors.Is(err, fs.ErrPermission):
			kind = hw.ErrPermission
		case errors.Is(err, fs.ErrNotExist):
			kind = hw.ErrAbsent
		}
		return nil, &hw.DeviceError{Op: op, Device: id, Kind: kind, Err: err}
	}
	return &eventLog{f: f}, nil
}

// write logs "word a [b]"; b < 0 is left out.
func (l *eventLog) write(word string, a, b int64) {
	line := append(l.buf[:0], word...)
	line = strconv.AppendInt(append(line, ' '), a, 10)
	if b >= 0 {
		line = strconv.AppendInt(append(line, ' '), b, 10)
	}
	l.f.Write(append(line, '\n')) // a lost line is a lost sample, not a device failure
}

// ClickSource is a synthetic microphone: silence with a click at the start
// of the first frame at or after every ClickEvery samples. It implements
// hw.Capture and hw.DropCounter.
type ClickSource struct {
	p     *pacer
	info  hw.DeviceInfo
	clock monoClock
	log   *eventLog
	pos   uint64 // sample index of the next frame's start
	next  uint64 // sample index at or after which the next click goes
}

// NewClickSource opens a click source logging to path (created or
// appended to). Its device clock starts now.
func NewClickSource(path string) (*ClickSource, error) {
	id := hw.ClickPrefix + path
	clock, err := newMonoClock()
	if err != nil {
		return nil, &hw.DeviceError{Op: "open capture", Device: id, Kind: hw.ErrUnavailable, Err: err}
	}
	l, err := openEventLog("open capture", id, path)
	if err != nil {
		return nil, err
	}
	return &ClickSource{
		p:     newPacer(),
		info:  hw.DeviceInfo{ID: id, Name: "synthetic click source (mouth-to-ear measurement)", Backend: "synth", Synthetic: true},
		clock: clock,
		log:   l,
		next:  ClickEvery,
	}, nil
}

// Read blocks until the next frame is due and fills it; a frame holding a
// click is logged with the instant its first sample was captured and the
// instant Read hands it over.
func (k *ClickSource) Read(frame []int16) error {
	if err := checkLen("read", k.info.ID, len(frame)); err != nil {
		return err
	}
	due, skipped, err := k.p.wait("read", k.info.ID, len(frame))
	if err != nil {
		return err
	}
	k.pos += (skipped + 1) * uint64(len(frame))
	start := k.pos - uint64(len(frame))
	click := start >= k.next
	WriteClick(frame, click)
	if click {
		k.next = start + ClickEvery
		captured := due.Add(-samplesToDuration(uint64(len(frame))))
		k.log.write("click", k.clock.nanos(captured), k.clock.nanos(time.Now()))
	}
	return nil
}

// Info describes the source; Synthetic is true.
func (k *ClickSource) Info() hw.DeviceInfo { return k.info }

// Dropped counts frames skipped because the reader fell behind.
func (k *ClickSource) Dropped() uint64 { return k.p.dropped.Load() }

// Close unblocks a pending Read and closes the log.
func (k *ClickSource) Close() error {
	k.p.close()
	return k.log.close()
}

// ClickDetector is a synthetic speaker that logs when each click's onset
// leaves it. It implements hw.Playback and hw.DropCounter.
type ClickDetector struct {
	*Sink
	clock monoClock
	det   *Detector
	log   *eventLog
}

// NewClickDetector opens a click detector logging to path (created or
// appended to). Its device clock starts now.
func NewClickDetector(path string) (*ClickDetector, error) {
	id := hw.DetectPrefix + path
	clock, err := newMonoClock()
	if err != nil {
		return nil, &hw.DeviceError{Op: "open playback", Device: id, Kind: hw.ErrUnavailable, Err: err}
	}
	l, err := openEventLog("open playback", id, path)
	if err != nil {
		return nil, err
	}
	return &ClickDetector{
		Sink:  newSink(id, "synthetic click detector (mouth-to-ear measurement)"),
		clock: clock, det: NewDetector(), log: l,
	}, nil
}

// Write takes the frame at its slot on the device clock (or now, if the
// writer is late for it) and logs a click onset found in it: it leaves the
// speaker one frame after the slot, plus its offset in the frame.
func (d *ClickDetector) Write(frame []int16) error {
	if err := checkLen("write", d.info.ID, len(frame)); err != nil {
		return err
	}
	due, err := d.slot(len(frame))
	if err != nil {
		return err
	}
	if off, ok := d.det.Feed(frame); ok {
		taken := max(d.clock.nanos(due), d.clock.nanos(time.Now()))
		played := taken + int64(samplesToDuration(uint64(len(frame)+off)))
		d.log.write("heard", played, -1)
	}
	return nil
}

// Close unblocks a pending Write and closes the log.
func (d *ClickDetector) Close() error {
	d.Sink.Close()
	return d.log.close()
}

func (l *eventLog) close() error { return l.f.Close() }

var (
	_ hw.Capture     = (*ClickSource)(nil)
	_ hw.DropCounter = (*ClickSource)(nil)
	_ hw.Playback    = (*ClickDetector)(nil)
	_ hw.DropCounter = (*ClickDetector)(nil)
	_ hw.ReadyWaiter = (*ClickDetector)(nil)
)
