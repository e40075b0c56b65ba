package synth

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
)

// readEvents returns the numbers logged after word, line by line.
func readEvents(t *testing.T, path, word string) [][]int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]int64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != word {
			t.Fatalf("%s: line %q", path, line)
		}
		var ns []int64
		for _, s := range f[1:] {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("%s: line %q: %v", path, line, err)
			}
			ns = append(ns, v)
		}
		out = append(out, ns)
	}
	return out
}

// TestClickSourceToDetector plays a click source straight into a click
// detector, in 10 ms frames: every click is heard once, after it was sent,
// at least one frame (the capture frame) plus one period (the speaker's)
// later, and both logs are on the same clock.
func TestClickSourceToDetector(t *testing.T) {
	dir := t.TempDir()
	src, err := NewClickSource(filepath.Join(dir, "clicks.log"))
	if err != nil {
		t.Fatal(err)
	}
	det, err := NewClickDetector(filepath.Join(dir, "heard.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !src.Info().Synthetic || !det.Info().Synthetic || src.Info().ID != "click:"+filepath.Join(dir, "clicks.log") {
		t.Fatalf("infos %+v %+v", src.Info(), det.Info())
	}
	frame := make([]int16, 480)
	// Two clicks: at 0.5 s and 1 s of the source's clock.
	for range 2*ClickEvery/len(frame) + 1 {
		if err := src.Read(frame); err != nil {
			t.Fatal(err)
		}
		if err := det.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	src.Close()
	det.Close()
	sent := readEvents(t, filepath.Join(dir, "clicks.log"), "click")
	heard := readEvents(t, filepath.Join(dir, "heard.log"), "heard")
	// Two clicks, or more if the reader was late and frames were skipped
	// (the source's clock runs on); every one sent is heard.
	if len(sent) < 2 || len(heard) != len(sent) {
		t.Fatalf("sent %v, heard %v: want as many heard as sent, at least 2", sent, heard)
	}
	const frameNs = 10_000_000
	for i := range sent {
		captured, delivered, played := sent[i][0], sent[i][1], heard[i][0]
		if delivered < captured+frameNs {
			t.Errorf("click %d delivered %d ns after its first sample, before its frame was complete", i, delivered-captured)
		}
		if played < captured+2*frameNs {
			t.Errorf("click %d heard %d ns after it was sent: less than a frame and a period", i, played-captured)
		}
	}
	if d := sent[1][0] - sent[0][0]; d%(10_000_000) != 0 || d < int64(ClickEvery)*1e9/hw.SampleRate {
		t.Errorf("clicks %d ns apart on the device clock, want 0.5 s (or whole frames more, after a skip)", d)
	}
}

func TestClickDevicesZeroAllocs(t *testing.T) {
	dir := t.TempDir()
	src, err := NewClickSource(filepath.Join(dir, "c"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	det, err := NewClickDetector(filepath.Join(dir, "h"))
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	frame := make([]int16, hw.FrameSamples)
	src.next = 0 // a click in every frame: the logging path is measured too
	det.det.Quiet = 1
	if a := testing.AllocsPerRun(5, func() {
		_ = src.Read(frame)
		src.next = 0
		_ = det.Write(frame)
	}); a != 0 {
		t.Errorf("%v allocs per frame", a)
	}
}

func TestClickLogUnwritable(t *testing.T) {
	_, err := NewClickSource(filepath.Join(t.TempDir(), "no", "such", "dir", "c.log"))
	if !errors.Is(err, hw.ErrAbsent) {
		t.Fatalf("click source in a missing directory: %v, want ErrAbsent", err)
	}
}

// TestSinkWaitReady: WaitReady takes the slot the next Write uses, so a
// writer that waits, then produces, then writes keeps the device pace
// without waiting twice per frame.
func TestSinkWaitReady(t *testing.T) {
	s := NewSink().(*Sink)
	defer s.Close()
	frame := make([]int16, hw.FrameSamples)
	const n = 10
	var before uint64
	for range n {
		before = uint64(time.Since(s.p.start) / framePeriod)
		if err := s.WaitReady(len(frame)); err != nil {
			t.Fatal(err)
		}
		if err := s.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	after := uint64(time.Since(s.p.start) / framePeriod)
	if got := s.Frames() + s.Dropped(); s.Frames() != n || got > after || got < before {
		t.Fatalf("%d (wait, write) pairs: %d frames + %d underruns; %d..%d periods elapsed", n, s.Frames(), s.Dropped(), before, after)
	}
	s.Close()
	if err := s.WaitReady(len(frame)); !errors.Is(err, hw.ErrClosed) {
		t.Fatalf("WaitReady after Close: %v", err)
	}
}
