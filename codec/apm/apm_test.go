package apm

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/syscalltrace"
)

// speech is n samples of a speech-like sound: a voiced, pitch-gliding
// harmonic tone shaped by two formants, in syllables of 250 ms with 60 ms
// gaps (the canceller adapts on speech, and a steady tone is no test of
// it). seed varies the pitch and vowels, so two talkers differ.
func speech(n int, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([]int16, n)
	const syl, gap = SampleRate / 4, SampleRate * 6 / 100
	phase := 0.0
	var f0, f1, f2 float64
	for i := range out {
		pos := i % (syl + gap)
		if pos == 0 {
			f0 = 100 + 120*r.Float64()
			f1, f2 = 300+500*r.Float64(), 900+1500*r.Float64()
		}
		if pos >= syl {
			continue
		}
		env := math.Sin(math.Pi * float64(pos) / syl)
		pitch := f0 * (1 + 0.15*float64(pos)/syl)
		phase += 2 * math.Pi * pitch / SampleRate
		v := 0.0
		for h := 1; h <= 30; h++ {
			fh := pitch * float64(h)
			if fh > 7000 {
				break
			}
			w := math.Exp(-math.Pow((fh-f1)/180, 2)) + 0.6*math.Exp(-math.Pow((fh-f2)/250, 2)) + 0.02
			v += w * math.Sin(float64(h)*phase)
		}
		out[i] = int16(max(min(6000*env*v, 32767), -32768))
	}
	return out
}

// room is a linear echo path: what the speaker plays reaches the
// microphone delay later, through a few reflections, attenuated.
type room struct {
	delay int       // samples
	taps  []float64 // at 0, 3, 7 and 12 ms after delay
}

func newRoom(delay time.Duration) room {
	return room{delay: int(delay.Seconds() * SampleRate), taps: []float64{0.5, 0.2, -0.1, 0.05}}
}

// echo returns what the microphone hears of far.
func (r room) echo(far []int16) []int16 {
	out := make([]int16, len(far))
	offsets := []int{0, 3 * SampleRate / 1000, 7 * SampleRate / 1000, 12 * SampleRate / 1000}
	for i := range out {
		v := 0.0
		for k, g := range r.taps {
			j := i - r.delay - offsets[k]
			if j >= 0 {
				v += g * float64(far[j])
			}
		}
		out[i] = int16(max(min(v, 32767), -32768))
	}
	return out
}

func energy(pcm []int16) float64 {
	e := 0.0
	for _, s := range pcm {
		e += float64(s) * float64(s)
	}
	return e
}

func db(a, b float64) float64 { return 10 * math.Log10(max(a, 1)/max(b, 1)) }

// run feeds far to p's render side and mic (near end plus echo) to its
// capture side, 10 ms at a time, reporting delay; it returns what the
// capture side gave.
func run(t testing.TB, p *Processor, far, mic []int16, delay time.Duration) []int16 {
	t.Helper()
	out := slices.Clone(mic)
	for i := 0; i+FrameSamples <= len(out); i += FrameSamples {
		if err := p.Render(far[i : i+FrameSamples]); err != nil {
			t.Fatal(err)
		}
		if err := p.Capture(out[i:i+FrameSamples], delay); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func mustNew(t testing.TB, cfg Config) *Processor {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// erle returns the echo return loss enhancement of each 1 s window of
// out against the echo alone (in dB), from second from on, over windows
// where the echo carries sound.
func erle(echo, out []int16, from int) []float64 {
	var w []float64
	for s := from * SampleRate; s+SampleRate <= len(out); s += SampleRate {
		if e := energy(echo[s : s+SampleRate]); e > 1e6*SampleRate/100 {
			w = append(w, db(e, energy(out[s:s+SampleRate])))
		}
	}
	return w
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// drift resamples pcm as a clock ppm parts per million fast would play it
// (linear interpolation): the speaker's clock against the microphone's.
func drift(pcm []int16, ppm float64) []int16 {
	out := make([]int16, len(pcm))
	step := 1 + ppm/1e6
	for i := range out {
		x := float64(i) * step
		j := int(x)
		if j+1 >= len(pcm) {
			break
		}
		f := x - float64(j)
		out[i] = int16((1-f)*float64(pcm[j]) + f*float64(pcm[j+1]))
	}
	return out
}

// The canceller removes a linear echo — 60 ms late, through reflections —
// of far-end speech: after a 3 s warm-up the median 1 s window is at least
// 30 dB quieter and none less than 20 dB, and the first second already
// 10 dB; the stats say it measured echo and found the delay. Harder cases
// (the figures are logged for docs/BENCHMARKS.md): the speaker's clock
// 50 ppm off the microphone's, and the echo's delay jumping by 20 ms.
func TestCancelsLinearEcho(t *testing.T) {
	far := speech(12*SampleRate, 1)
	plain := newRoom(60 * time.Millisecond).echo(far)
	jump := slices.Concat(plain[:6*SampleRate], newRoom(80 * time.Millisecond).echo(far)[6*SampleRate:])
	for _, c := range []struct {
		name               string
		echo               []int16
		reported           time.Duration // the delay the capture side reports
		median, low, first float64       // the least ERLE wanted, dB
	}{
		{"delay reported", plain, 60 * time.Millisecond, 30, 20, 10},
		{"delay under-reported", plain, 20 * time.Millisecond, 30, 20, 10},
		{"clock drift 50 ppm", newRoom(60 * time.Millisecond).echo(drift(far, 50)), 60 * time.Millisecond, 30, 20, 10},
		{"delay jumps 20 ms at 6 s", jump, 60 * time.Millisecond, 30, 15, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := mustNew(t, Config{EchoCancellation: true, NoiseSuppression: true, HighPassFilter: true})
			out := run(t, p, far, c.echo, c.reported)
			first := db(energy(c.echo[:SampleRate]), energy(out[:SampleRate]))
			w := erle(c.echo, out, 3)
			t.Logf("ERLE: first second %.1f dB; after 3 s, median %.1f dB, lowest %.1f, windows %.1f", first, median(w), slices.Min(w), w)
			t.Logf("echo-row synthetic:_%s %.1f %.1f %.1f -", strings.ReplaceAll(c.name, " ", "_"), first, median(w), slices.Min(w))
			if m := median(w); m < c.median {
				t.Errorf("median ERLE %.1f dB, want ≥ %.0f", m, c.median)
			}
			if lo := slices.Min(w); lo < c.low {
				t.Errorf("a window's ERLE %.1f dB, want every one ≥ %.0f", lo, c.low)
			}
			if first < c.first {
				t.Errorf("first second's ERLE %.1f dB, want ≥ %.0f", first, c.first)
			}
			st := p.Stats()
			t.Logf("stats: %+v", st)
			if !st.EchoMetrics || st.Delay < 0 {
				t.Errorf("stats %+v: want echo metrics and a delay", st)
			}
		})
	}
}

// Near-end speech with no far end passes (echo cancellation and noise
// suppression on, gain control off): its level within ±2 dB.
func TestNearEndPasses(t *testing.T) {
	p := mustNew(t, Config{EchoCancellation: true, NoiseSuppression: true, HighPassFilter: true})
	near := speech(6*SampleRate, 7)
	silence := make([]int16, len(near))
	out := run(t, p, silence, near, 40*time.Millisecond)
	d := db(energy(out[SampleRate:]), energy(near[SampleRate:]))
	t.Logf("near end alone: %+.2f dB", d)
	if math.Abs(d) > 2 {
		t.Errorf("near-end speech changed by %+.2f dB, want within ±2", d)
	}
}

// In double talk the near end stays audible: with far-end echo and a
// near-end talker at once, what comes out keeps the near end's level
// within 10 dB (the canceller's suppression during double talk is the
// level change; logged for docs/BENCHMARKS.md). The processing is
// deterministic: the same input gives the same figure every run.
func TestDoubleTalk(t *testing.T) {
	p := mustNew(t, Config{EchoCancellation: true, NoiseSuppression: true, HighPassFilter: true})
	far := speech(10*SampleRate, 1)
	echo := newRoom(60 * time.Millisecond).echo(far)
	near := speech(10*SampleRate, 9)
	// The near end talks only in the second half: the first adapts.
	mic := slices.Clone(echo)
	for i := 5 * SampleRate; i < len(mic); i++ {
		mic[i] = int16(max(min(int(mic[i])+int(near[i]), 32767), -32768))
	}
	out := run(t, p, far, mic, 60*time.Millisecond)
	h := 6 * SampleRate
	kept := db(energy(out[h:]), energy(near[h:]))
	t.Logf("double talk: the output is %+.1f dB against the near end alone", kept)
	if kept < -10 {
		t.Errorf("in double talk the output is %.1f dB under the near end: it was suppressed", kept)
	}
}

// Reset in the middle of near-end speech does not silence it: the noise
// suppressor keeps what it learnt (restarted, it took the speech for
// noise: the visitor went silent while a loaded machine's speaker
// underran). A reset every second, every stage on, the level stays within
// 3 dB; and the canceller, started again, cancels again.
func TestResetKeepsTheNearEnd(t *testing.T) {
	p := mustNew(t, Config{EchoCancellation: true, NoiseSuppression: true, AutoGainControl: true, HighPassFilter: true})
	near := speech(8*SampleRate, 7)
	silence := make([]int16, len(near))
	out := slices.Clone(near)
	for i := 0; i+FrameSamples <= len(out); i += FrameSamples {
		if i > 0 && i%SampleRate == 0 {
			if err := p.Reset(); err != nil {
				t.Fatal(err)
			}
		}
		p.Render(silence[i : i+FrameSamples])
		p.Capture(out[i:i+FrameSamples], 40*time.Millisecond)
	}
	for s := 2; s < 8; s++ {
		w := s * SampleRate
		if d := db(energy(out[w:w+SampleRate]), energy(near[w:w+SampleRate])); math.Abs(d) > 3 {
			t.Errorf("second %d after resets: %+.1f dB against the near end, want within 3", s, d)
		}
	}
	far := speech(8*SampleRate, 1)
	echo := newRoom(60 * time.Millisecond).echo(far)
	got := run(t, p, far, echo, 60*time.Millisecond)
	if m := median(erle(echo, got, 3)); m < 30 {
		t.Errorf("after resets the canceller's median ERLE is %.1f dB, want ≥ 30", m)
	}
}

func TestBadFrames(t *testing.T) {
	p := mustNew(t, Config{EchoCancellation: true})
	if err := p.Render(make([]int16, 100)); err != ErrFrame {
		t.Errorf("Render of 100 samples: %v", err)
	}
	if err := p.Capture(make([]int16, 500), 0); err != ErrFrame {
		t.Errorf("Capture of 500 samples: %v", err)
	}
}

// A 20 ms frame (two 10 ms frames each way) allocates nothing.
func TestFrameAllocs(t *testing.T) {
	p := mustNew(t, Config{EchoCancellation: true, NoiseSuppression: true, AutoGainControl: true, HighPassFilter: true})
	far, mic := speech(2*FrameSamples, 1), speech(2*FrameSamples, 2)
	if n := testing.AllocsPerRun(200, func() {
		p.Render(far)
		p.Capture(mic, 40*time.Millisecond)
	}); n != 0 {
		t.Fatalf("%v allocations per 20 ms frame, want 0", n)
	}
}

// BenchmarkFrame is the whole stage on one 20 ms frame: what the speaker
// plays in, what the microphone captured out.
func BenchmarkFrame(b *testing.B) {
	p := mustNew(b, Config{EchoCancellation: true, NoiseSuppression: true, AutoGainControl: true, HighPassFilter: true})
	far := speech(10*SampleRate, 1)
	mic := newRoom(60 * time.Millisecond).echo(far)
	frame := make([]int16, 2*FrameSamples)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		at := (i * len(frame)) % (len(far) - len(frame))
		copy(frame, mic[at:at+len(frame)])
		p.Render(far[at : at+len(frame)])
		p.Capture(frame, 60*time.Millisecond)
	}
}

// TestNoSyscallState: Render and Capture make short calls
// (internal/ccall): a period's processing enters no syscall state, which
// after an idle moment would wake the runtime's monitor thread.
func TestNoSyscallState(t *testing.T) {
	p := mustNew(t, Config{EchoCancellation: true, NoiseSuppression: true, AutoGainControl: true, HighPassFilter: true})
	far, mic := speech(2*FrameSamples, 1), speech(2*FrameSamples, 2)
	var failed error
	if n := syscalltrace.Entries(t, func() {
		for range 50 {
			if err := p.Render(far); err != nil {
				failed = err
			}
			if err := p.Capture(mic, 40*time.Millisecond); err != nil {
				failed = err
			}
		}
	}); n != 0 {
		t.Errorf("%d syscall-state entries in 50 periods of Render and Capture, want 0", n)
	}
	if failed != nil {
		t.Fatal(failed)
	}
}
