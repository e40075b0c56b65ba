package opus

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// speechLike is a frame of a voiced, noisy, varying signal: what makes
// libopus choose SILK, whose packets can carry LBRR.
func speechLike(frame []int16, n int, rng *rand.Rand) {
	f0 := 120 + 40*math.Sin(float64(n)/7)
	for i := range frame {
		t := float64(n*len(frame)+i) / SampleRate
		v := 0.0
		for h := 1; h <= 8; h++ {
			v += math.Sin(2*math.Pi*f0*float64(h)*t) / float64(h)
		}
		env := 0.5 + 0.5*math.Sin(2*math.Pi*3*t)
		frame[i] = int16(4000*env*v + 300*rng.NormFloat64())
	}
}

// HasFEC against libopus itself. A speech-like stream at 32 kbit/s with
// FEC for 20 % loss: for every packet, two decoders with the same history
// conceal the frame before it, one from the packet's FEC, one by PLC; they
// differ exactly when HasFEC says the packet carries LBRR (libopus' FEC
// decode of a packet without it is PLC), and most packets do. Without FEC
// none does; a CELT-only TOC never.
func TestHasFEC(t *testing.T) {
	for _, fec := range []bool{true, false} {
		p := DefaultEncoderParams()
		p.Bitrate, p.FEC, p.DTX, p.PacketLossPerc = 32000, fec, false, 20
		enc, err := NewEncoder(p)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		frame := make([]int16, FrameSamples)
		var pkts [][]byte
		for n := range 100 {
			speechLike(frame, n, rng)
			buf := make([]byte, MaxPacketBytes)
			k, err := enc.Encode(buf, frame)
			if err != nil {
				t.Fatal(err)
			}
			pkts = append(pkts, buf[:k])
		}
		withFEC := 0
		fromFEC, byPLC := make([]int16, FrameSamples), make([]int16, FrameSamples)
		for n := 10; n < len(pkts)-1; n++ {
			d1, _ := NewDecoder()
			d2, _ := NewDecoder()
			for _, p := range pkts[:n] {
				d1.Decode(fromFEC, p)
				d2.Decode(byPLC, p)
			}
			if err := d1.DecodeFEC(fromFEC, pkts[n+1]); err != nil {
				t.Fatal(err)
			}
			if err := d2.DecodePLC(byPLC); err != nil {
				t.Fatal(err)
			}
			rebuilt := !slices.Equal(fromFEC, byPLC)
			if has := HasFEC(pkts[n+1]); has != rebuilt {
				t.Fatalf("FEC %v, packet %d: HasFEC %v, but libopus' FEC decode differs from PLC: %v", fec, n+1, has, rebuilt)
			} else if has {
				withFEC++
			}
		}
		if total := len(pkts) - 11; (fec && withFEC < total/2) || (!fec && withFEC != 0) {
			t.Errorf("FEC %v: %d of %d packets carry LBRR", fec, withFEC, total)
		}
	}
	celt := []byte{31<<3 | 0, 0xff, 0xff, 0xff}
	if HasFEC(celt) {
		t.Error("a CELT-only packet said to carry FEC")
	}
}

// The frame layouts of RFC 6716 §3.2: the first frame is found in each.
func TestFirstFrame(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pkt       []byte
		off, size int
		ok        bool
	}{
		{"code 0", []byte{0x08, 1, 2, 3}, 1, 3, true},
		{"code 1", []byte{0x09, 1, 2, 3, 4}, 1, 2, true},
		{"code 1, odd", []byte{0x09, 1, 2, 3}, 0, 0, false},
		{"code 2", []byte{0x0a, 2, 9, 9, 8}, 2, 2, true},
		{"code 2, two-byte length", append([]byte{0x0a, 252, 1}, make([]byte, 300)...), 3, 256, true},
		{"code 2, too short", []byte{0x0a, 9, 1}, 0, 0, false},
		{"code 3 CBR", []byte{0x0b, 0x02, 1, 2, 3, 4}, 2, 2, true},
		{"code 3 CBR padded", []byte{0x0b, 0x42, 2, 1, 2, 3, 4, 0, 0}, 3, 2, true},
		{"code 3 VBR", []byte{0x0b, 0x82, 1, 7, 5, 5}, 3, 1, true},
		{"code 3 no frames", []byte{0x0b, 0x00}, 0, 0, false},
	} {
		off, size, ok := firstFrame(tc.pkt)
		if off != tc.off || size != tc.size || ok != tc.ok {
			t.Errorf("%s: %d, %d, %v; want %d, %d, %v", tc.name, off, size, ok, tc.off, tc.size, tc.ok)
		}
	}
}

func FuzzHasFEC(f *testing.F) {
	f.Add([]byte{0x0b, 0xc3, 255, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, pkt []byte) { HasFEC(pkt) })
}
