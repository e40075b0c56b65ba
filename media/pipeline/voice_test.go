package pipeline

import (
	"math"
	"testing"

	"github.com/voipd/voipd/codec/opus"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/media/settings"
)

// TestSyntheticVoiceGetsFEC: with voipd's default audio settings, libopus
// puts in-band FEC into most packets of the synthetic voice while it
// talks, and into few of a steady tone's, once it has started (SILK codes
// LBRR only for what its voice activity detector calls speech). That is
// why tests of loss use "voice": with a tone, FEC hardly shows.
func TestSyntheticVoiceGetsFEC(t *testing.T) {
	count := func(pcm []int16) (withFEC, sent int) {
		enc, err := opus.NewEncoder(encoderParams(settings.DefaultAudio()))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, opus.MaxPacketBytes)
		for i := 0; i+hw.FrameSamples <= len(pcm); i += hw.FrameSamples {
			n, err := enc.Encode(buf, pcm[i:i+hw.FrameSamples])
			if err != nil {
				t.Fatal(err)
			}
			if n <= 2 { // DTX: not sent
				continue
			}
			sent++
			if opus.HasFEC(buf[:n]) {
				withFEC++
			}
		}
		return withFEC, sent
	}
	voice := synth.VoiceSamples(4 * hw.SampleRate) // one phrase, no pause
	if w, n := count(voice); w < n/2 {
		t.Errorf("voice: %d of %d packets carry FEC", w, n)
	} else {
		t.Logf("voice: %d of %d packets carry FEC", w, n)
	}
	tone := make([]int16, 4*hw.SampleRate)
	for i := range tone {
		tone[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/hw.SampleRate))
	}
	if w, n := count(tone); w > n/4 {
		t.Errorf("tone: %d of %d packets carry FEC; then a tone would do for loss tests", w, n)
	} else {
		t.Logf("tone: %d of %d packets carry FEC", w, n)
	}
}
