package dsp

import (
	"math"
	"testing"
)

func tone(freq, amp float64, n int) []int16 {
	pcm := make([]int16, n)
	Sine(pcm, freq, 48000, amp, 0)
	return pcm
}

func TestLevelDBov(t *testing.T) {
	square := make([]int16, 960)
	for i := range square {
		square[i] = 32767
		if i%2 == 1 {
			square[i] = -32768
		}
	}
	tests := []struct {
		name string
		pcm  []int16
		want uint8
	}{
		{"digital silence", make([]int16, 960), 127},
		{"empty frame", nil, 127},
		{"full-scale square is 0 dBov", square, 0},
		{"full-scale sine is -3 dBov", tone(1000, 32767, 960), 3},
		{"sine 20 dB down", tone(1000, 3276.7, 960), 23},
		{"one LSB of noise is below -90 dBov", []int16{1, -1, 1, -1}, 90},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LevelDBov(tc.pcm); got != tc.want {
				t.Errorf("LevelDBov = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestLinearAgreesWithDBov(t *testing.T) {
	for _, amp := range []float64{32767, 10000, 1000, 100} {
		pcm := tone(440, amp, 960)
		lin := LevelLinear(pcm)
		if want := amp / math.Sqrt2 / 32768; math.Abs(lin-want) > 0.01*want {
			t.Errorf("amp %v: LevelLinear = %.4f, want %.4f", amp, lin, want)
		}
		// The dBov byte is rounded to 1 dB: within 12 % linear.
		if back := DBovToLinear(LevelDBov(pcm)); math.Abs(back-lin) > 0.12*lin {
			t.Errorf("amp %v: DBovToLinear(LevelDBov) = %.4f, LevelLinear = %.4f", amp, back, lin)
		}
	}
	if DBovToLinear(127) != 0 || DBovToLinear(0) != 1 || LevelLinear(make([]int16, 10)) != 0 {
		t.Error("silence must be 0 and 0 dBov must be 1")
	}
}

func TestGoertzelTellsTonesApart(t *testing.T) {
	pcm := tone(440, 10000, 4800)
	p440, p660 := Goertzel(pcm, 440, 48000), Goertzel(pcm, 660, 48000)
	if math.Abs(p440-1e8)/1e8 > 0.05 {
		t.Errorf("Goertzel at the tone = %.4g, want ≈ amplitude² = 1e8", p440)
	}
	if p660 > p440/1000 {
		t.Errorf("Goertzel at 660 Hz = %.4g, want far below %.4g", p660, p440)
	}
	// A mix of both shows both.
	mix := tone(440, 8000, 4800)
	MixSaturate(mix, tone(660, 8000, 4800))
	a, b := Goertzel(mix, 440, 48000), Goertzel(mix, 660, 48000)
	if a < 0.5*b || b < 0.5*a || a < 1e7 {
		t.Errorf("mix: 440 Hz %.3g, 660 Hz %.3g, want both ≈ 6.4e7", a, b)
	}
	if Goertzel(nil, 440, 48000) != 0 {
		t.Error("empty frame must give 0")
	}
}

func TestMixSaturates(t *testing.T) {
	acc := make([]int32, 4)
	Accumulate(acc, []int16{30000, -30000, 100, 0})
	Accumulate(acc, []int16{30000, -30000, -50, 7})
	Accumulate(acc, []int16{-30000, 0, 0})
	out := make([]int16, 4)
	Saturate(out, acc)
	if want := []int16{30000, -32768, 50, 7}; [4]int16(out) != [4]int16(want) {
		t.Errorf("Saturate = %v, want %v", out, want)
	}
	for _, v := range acc {
		if v != 0 {
			t.Fatalf("Saturate left acc = %v, want zeroed", acc)
		}
	}
	dst := []int16{32000, -32000, 1}
	MixSaturate(dst, []int16{32000, -32000, 1})
	if [3]int16(dst) != [3]int16{32767, -32768, 2} {
		t.Errorf("MixSaturate = %v", dst)
	}
}

func TestNoAllocations(t *testing.T) {
	pcm, acc := tone(440, 1000, 960), make([]int32, 960)
	var phase float64
	if a := testing.AllocsPerRun(50, func() {
		phase = Sine(pcm, 440, 48000, 1000, phase)
		_ = LevelDBov(pcm) + uint8(LevelLinear(pcm)) + uint8(Goertzel(pcm, 440, 48000))
		Accumulate(acc, pcm)
		Saturate(pcm, acc)
	}); a != 0 {
		t.Errorf("%v allocs, want 0", a)
	}
}
