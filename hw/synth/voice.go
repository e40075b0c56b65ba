package synth

import (
	"math"

	"github.com/voipd/voipd/hw"
)

// Voice is a synthetic microphone that talks: a voiced, pitch-gliding
// harmonic sound shaped by a vowel's two formants, in syllables of 250 ms
// with short gaps and a one-second pause every five seconds. It is no
// language, but libopus hears it as speech (SILK, voice activity, in-band
// FEC), which a sine is not: a steady tone gets no LBRR, so FEC could not
// be measured with one. Deterministic; it implements hw.Capture and
// hw.DropCounter.
type Voice struct {
	p    *pacer
	info hw.DeviceInfo
	gen  voiceGen
}

// NewVoice returns the synthetic voice; frames become available at the
// real sample rate from the moment it returns.
func NewVoice() hw.Capture {
	return &Voice{
		p:    newPacer(),
		info: hw.DeviceInfo{ID: hw.VoiceID, Name: "synthetic voice", Backend: "synth", Synthetic: true},
	}
}

// VoiceSamples returns the first n samples the synthetic voice says (the
// same as a Voice captures), e.g. to write a WAV file of it for another
// program to send.
func VoiceSamples(n int) []int16 {
	var g voiceGen
	pcm := make([]int16, n)
	g.fill(pcm)
	return pcm
}

// Read blocks until the next frame is due and fills frame with it. Frames
// missed because the reader was late are skipped (counted by Dropped).
func (v *Voice) Read(frame []int16) error {
	if err := checkLen("read", v.info.ID, len(frame)); err != nil {
		return err
	}
	_, skipped, err := v.p.wait("read", v.info.ID, len(frame))
	if err != nil {
		return err
	}
	v.gen.skip(int(skipped) * len(frame))
	v.gen.fill(frame)
	return nil
}

// Info describes the voice; Synthetic is true.
func (v *Voice) Info() hw.DeviceInfo { return v.info }

// Dropped counts frames skipped because the reader fell behind.
func (v *Voice) Dropped() uint64 { return v.p.dropped.Load() }

// Close unblocks a pending Read; later Reads return an error wrapping
// hw.ErrClosed.
func (v *Voice) Close() error {
	v.p.close()
	return nil
}

// The voice's rhythm and sound.
const (
	syllableSamples = hw.SampleRate / 4       // 250 ms
	gapSamples      = hw.SampleRate * 6 / 100 // the last 60 ms of each syllable are quiet
	phraseSyllables = 16                      // 4 s of syllables, then
	pauseSyllables  = 4                       // 1 s of silence
	periodTable     = 1024                    // one pitch period, sampled
	voiceAmplitude  = 0.3 * math.MaxInt16
)

// vowels are formant pairs (F1, F2) in Hz, after Peterson and Barney.
var vowels = [...][2]float64{{730, 1090}, {270, 2290}, {530, 1840}, {570, 840}, {300, 870}, {660, 1720}}

// voiceGen makes the samples. One pitch period of the current syllable's
// vowel is kept as a table; the pitch glides by stepping through it at a
// varying rate.
type voiceGen struct {
	n        int  // samples made so far
	syllable int  // the syllable the table is for,
	built    bool // once there is one
	table    [periodTable]float64
	phase    float64 // in periods
	noise    uint32  // a little breath: xorshift32 state (0: not seeded)
}

// build makes the period table of syllable s: harmonics of a 100 Hz
// reference up to 3.4 kHz, weighted 1/h and raised near the vowel's
// formants (the pitch moves the harmonics along the formants only
// slightly, as it does in a voice).
func (g *voiceGen) build(s int) {
	f := vowels[s%len(vowels)]
	const f0 = 120.0
	clear(g.table[:])
	for h := 1; float64(h)*f0 < 3400; h++ {
		fh := float64(h) * f0
		w := (1 + 4*bump(fh, f[0], 120) + 3*bump(fh, f[1], 200)) / float64(h)
		for i := range g.table {
			g.table[i] += w * math.Sin(2*math.Pi*float64(h)*float64(i)/periodTable)
		}
	}
	peak := 0.0
	for _, v := range g.table {
		peak = max(peak, math.Abs(v))
	}
	for i := range g.table {
		g.table[i] /= peak
	}
	g.syllable, g.built = s, true
}

func bump(f, center, width float64) float64 {
	d := (f - center) / width
	return math.Exp(-d * d)
}

// skip moves the voice on by n samples without making them.
func (g *voiceGen) skip(n int) {
	for range n {
		g.next()
	}
}

// fill makes the next len(pcm) samples.
func (g *voiceGen) fill(pcm []int16) {
	for i := range pcm {
		pcm[i] = int16(math.Round(voiceAmplitude * g.next()))
	}
}

// next makes one sample, -1..1.
func (g *voiceGen) next() float64 {
	n := g.n
	g.n++
	s := n / syllableSamples
	if s%(phraseSyllables+pauseSyllables) >= phraseSyllables {
		return 0 // the pause between phrases
	}
	if !g.built || s != g.syllable {
		g.build(s)
	}
	in := n % syllableSamples
	// Envelope: a 20 ms rise, a hold, a 40 ms fall, then the gap.
	env := 0.0
	switch rise, fall := hw.SampleRate/50, hw.SampleRate/25; {
	case in < rise:
		env = float64(in) / float64(rise)
	case in < syllableSamples-gapSamples-fall:
		env = 1
	case in < syllableSamples-gapSamples:
		env = float64(syllableSamples-gapSamples-in) / float64(fall)
	}
	t := float64(n) / hw.SampleRate
	f0 := 120 + 25*math.Sin(2*math.Pi*0.6*t) + 10*math.Sin(2*math.Pi*3.1*t)
	g.phase += f0 / hw.SampleRate
	g.phase -= math.Floor(g.phase)
	x := g.phase * periodTable
	i := int(x)
	frac := x - float64(i)
	v := g.table[i]*(1-frac) + g.table[(i+1)%periodTable]*frac
	// xorshift32 for a little aspiration noise.
	if g.noise == 0 {
		g.noise = 2463534242
	}
	g.noise ^= g.noise << 13
	g.noise ^= g.noise >> 17
	g.noise ^= g.noise << 5
	noise := 0.04 * float64(int32(g.noise)) / math.MaxInt32
	return env * (0.96*v + noise)
}
