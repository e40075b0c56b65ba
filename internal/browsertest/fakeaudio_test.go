package browsertest_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/internal/browsertest"
)

// spectrumPage finds the loudest frequency of the fake microphone.
const spectrumPage = `<!doctype html>
<script>
window.peakHz = 0;
navigator.mediaDevices.getUserMedia({audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}}).then(stream => {
  const ac = new AudioContext();
  const an = ac.createAnalyser();
  an.fftSize = 8192;
  ac.createMediaStreamSource(stream).connect(an);
  const bins = new Float32Array(an.frequencyBinCount);
  setInterval(() => {
    an.getFloatFrequencyData(bins);
    let best = 0;
    for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
    if (bins[best] > -60) window.peakHz = best * ac.sampleRate / an.fftSize;
  }, 50);
}, err => console.error("getUserMedia: " + err));
</script>`

// Options.FakeAudioFile: Chromium's microphone plays the WAV file given (a
// 3 kHz tone here), not its own beep.
func TestFakeAudioFile(t *testing.T) {
	pcm := make([]int16, hw.SampleRate)
	for i := range pcm {
		pcm[i] = int16(10000 * math.Sin(2*math.Pi*3000*float64(i)/hw.SampleRate))
	}
	wav := filepath.Join(t.TempDir(), "tone.wav")
	if err := synth.WriteWAV(wav, pcm); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(spectrumPage))
	}))
	defer srv.Close()
	b := browsertest.StartWith(t, browsertest.Options{FakeAudioFile: wav})
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	p, err := b.Open(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `window.peakHz > 2900 && window.peakHz < 3100`); err != nil {
		var hz float64
		p.Eval(ctx, `window.peakHz`, &hz)
		t.Fatalf("the fake microphone's loudest frequency is %.0f Hz, not the file's 3000: %v", hz, err)
	}
}
