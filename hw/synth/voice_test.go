package synth

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/voipd/voipd/hw"
)

// The voice captures what VoiceSamples says, frame after frame; it talks
// in syllables (loud, then quiet gaps) and pauses a second every five.
func TestVoice(t *testing.T) {
	v := NewVoice()
	defer v.Close()
	if info := v.Info(); info.ID != hw.VoiceID || !info.Synthetic {
		t.Fatalf("info %+v", info)
	}
	// Each frame read is the part of VoiceSamples it stands for, late
	// reads (skipped frames) included.
	want := VoiceSamples(hw.SampleRate)
	frame := make([]int16, hw.FrameSamples)
	for range 5 {
		if err := v.Read(frame); err != nil {
			t.Fatal(err)
		}
		end := v.(*Voice).gen.n
		if end > len(want) || !slices.Equal(frame, want[end-len(frame):end]) {
			t.Fatalf("the frame ending at sample %d differs from VoiceSamples", end)
		}
	}
	pcm := VoiceSamples(6 * hw.SampleRate)
	rms := func(from, to int) float64 { // over [from, to) ms
		var sum float64
		for _, x := range pcm[from*hw.SamplesPerMs : to*hw.SamplesPerMs] {
			sum += float64(x) * float64(x)
		}
		return sum / float64((to-from)*hw.SamplesPerMs)
	}
	loud, gap, pause := rms(50, 150), rms(200, 250), rms(4100, 4900)
	if loud < 1e6 || gap > loud/100 || pause != 0 {
		t.Fatalf("power: syllable %.3g, its gap %.3g, the pause %.3g", loud, gap, pause)
	}
}

// WriteWAV writes what LoadWAV reads.
func TestWriteWAV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "voice.wav")
	pcm := VoiceSamples(hw.SampleRate)
	if err := WriteWAV(path, pcm); err != nil {
		t.Fatal(err)
	}
	got, err := LoadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, pcm) {
		t.Fatal("the WAV read back differs")
	}
}
