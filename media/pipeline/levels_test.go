package pipeline

import (
	"math"
	"sync/atomic"
	"testing"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

func loadLevel(l *atomic.Uint64) float64 { return math.Float64frombits(l.Load()) }

// fillTone puts a loud 440 Hz tone in pcm.
func fillTone(pcm []int16) { dsp.Sine(pcm, 440, hw.SampleRate, 8000, 0) }

// A level that stays on one side of the threshold says nothing; each
// crossing says so once, both ways; a watch no one listens to (or none)
// still stores the level.
func TestLevelWatchCrossings(t *testing.T) {
	pokes := 0
	w := &levelWatch{threshold: 0.02, changed: func() { pokes++ }}
	var level atomic.Uint64
	var loud bool
	for i, step := range []struct {
		v     float64
		pokes int
	}{{0, 0}, {0.01, 0}, {0.02, 0}, {0.5, 1}, {0.6, 1}, {0.03, 1}, {0.01, 2}, {0, 2}, {0.9, 3}} {
		w.store(&level, &loud, step.v)
		if pokes != step.pokes {
			t.Fatalf("step %d (level %v): %d pokes, want %d", i, step.v, pokes, step.pokes)
		}
	}
	for _, w := range []*levelWatch{nil, {threshold: 0.02}} {
		w.store(&level, &loud, 0.25)
		if got := loadLevel(&level); got != 0.25 {
			t.Fatalf("watch %v stored %v, want 0.25", w, got)
		}
	}
}

// A call built with LevelsChanged tells it of a member's first loud frame,
// of this device's, of a member added or removed and of the mute, and of
// nothing while the levels stay where they are; its frame paths still
// allocate nothing.
func TestCallTellsOfLevelCrossings(t *testing.T) {
	var pokes atomic.Int64
	f := NewFactory(testAudio(), testVideo(320, 240), nil, nil)
	pb := newRecordPlayback()
	defer pb.Close()
	c, err := f.NewCall(media.CallParams{
		Capture: newToneCapture(440, false), Playback: pb, Out: &countingWriter{}, LevelExtID: levelExt,
		LevelsChanged: func() { pokes.Add(1) }, SpeakingLevel: 0.02,
	})
	if err != nil {
		t.Fatal(err)
	}
	cl := c.(*call)
	expect := func(what string, n int64) {
		t.Helper()
		if got := pokes.Swap(0); got != n {
			t.Fatalf("%s: %d pokes, want %d", what, got, n)
		}
	}
	// The receive path of newReceivePath, with this call's receiver.
	rp := newReceivePath(t, 0)
	rp.recv = cl.rcv
	pipe := newRTPPipe(9, 0, 0)
	defer pipe.Close()
	cl.AddMember("a", pipe)
	expect("a member added", 1)
	rp.members = *cl.rcv.members.Load()
	for range 5 {
		rp.frame()
	}
	expect("the member's tone begins (one crossing)", 1)
	if a := testing.AllocsPerRun(100, rp.frame); a != 0 {
		t.Fatalf("receive path with a level watch: %v allocs per frame", a)
	}
	expect("the member's tone goes on", 0)

	snd := cl.snd
	for range 3 {
		fillTone(snd.pcm[:snd.frame])
		if err := snd.sendFrame(); err != nil {
			t.Fatal(err)
		}
	}
	expect("this device's tone", 1)
	if a := testing.AllocsPerRun(100, func() {
		fillTone(snd.pcm[:snd.frame])
		if err := snd.sendFrame(); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("send path with a level watch: %v allocs per frame", a)
	}
	expect("this device's tone goes on", 0)
	c.SetMute(true, false)
	expect("microphone muted", 1)
	c.SetMute(true, false)
	expect("the same mute again", 0)
	c.SetMute(true, true)
	expect("earphone muted", 1)
	c.RemoveMember("a")
	expect("the member removed", 1)
	c.RemoveMember("a")
	expect("a member not there removed", 0)
}
