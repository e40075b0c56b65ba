package opus

import (
	"errors"
	"math"
	"testing"
)

// sine and power are local (codec/dsp has the real ones) so this package's
// tests import nothing else of the project.
func sine(dst []int16, freq, amp float64, phase float64) float64 {
	step := 2 * math.Pi * freq / SampleRate
	for i := range dst {
		dst[i] = int16(amp * math.Sin(phase))
		phase += step
	}
	return math.Mod(phase, 2*math.Pi)
}

func power(pcm []int16, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/SampleRate)
	var s1, s2 float64
	for _, x := range pcm {
		s1, s2 = float64(x)+coeff*s1-s2, s1
	}
	h := float64(len(pcm)) / 2
	return (s1*s1 + s2*s2 - coeff*s1*s2) / (h * h)
}

// params is DefaultEncoderParams with FEC and DTX as given.
func params(fec, dtx bool) EncoderParams {
	p := DefaultEncoderParams()
	p.FEC, p.DTX = fec, dtx
	return p
}

func mustEncoder(t testing.TB, p EncoderParams) *Encoder {
	t.Helper()
	e, err := NewEncoder(p)
	if err != nil {
		t.Fatalf("NewEncoder: %v", err)
	}
	return e
}

func mustDecoder(t testing.TB) *Decoder {
	t.Helper()
	d, err := NewDecoder()
	if err != nil {
		t.Fatalf("NewDecoder: %v", err)
	}
	return d
}

// encodeTone encodes frames of a tone and returns the packets.
func encodeTone(t testing.TB, e *Encoder, freq float64, frames int) [][]byte {
	t.Helper()
	pcm := make([]int16, FrameSamples)
	var phase float64
	var pkts [][]byte
	for range frames {
		phase = sine(pcm, freq, 10000, phase)
		buf := make([]byte, MaxPacketBytes)
		n, err := e.Encode(buf, pcm)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		pkts = append(pkts, buf[:n])
	}
	return pkts
}

func TestRoundTripKeepsTone(t *testing.T) {
	for _, freq := range []float64{440, 660} {
		e := mustEncoder(t, params(true, false))
		d := mustDecoder(t)
		out := make([]int16, FrameSamples)
		for i, pkt := range encodeTone(t, e, freq, 25) {
			n, err := d.Decode(out, pkt)
			if err != nil || n != FrameSamples {
				t.Fatalf("frame %d: Decode = %d, %v", i, n, err)
			}
		}
		other := 1100 - freq // 660 for 440 and 440 for 660
		if p, q := power(out, freq), power(out, other); p < 100*q || p < 1e6 {
			t.Errorf("%v Hz: power %.3g at the tone vs %.3g at %v Hz", freq, p, q, other)
		}
	}
}

func TestFECRecoversLostFrame(t *testing.T) {
	e := mustEncoder(t, func() EncoderParams { p := params(true, false); p.PacketLossPerc = 30; return p }())
	pkts := encodeTone(t, e, 440, 30)
	d := mustDecoder(t)
	out := make([]int16, FrameSamples)
	const lost = 20
	for i := 0; i < lost; i++ {
		if _, err := d.Decode(out, pkts[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.DecodeFEC(out, pkts[lost+1]); err != nil {
		t.Fatalf("DecodeFEC: %v", err)
	}
	if p := power(out, 440); p < 1e6 {
		t.Errorf("FEC frame has power %.3g at 440 Hz, want the tone back", p)
	}
	if _, err := d.Decode(out, pkts[lost+1]); err != nil {
		t.Fatalf("Decode after FEC: %v", err)
	}
}

func TestPLCContinuesTone(t *testing.T) {
	e := mustEncoder(t, params(false, false))
	d := mustDecoder(t)
	out := make([]int16, FrameSamples)
	for _, pkt := range encodeTone(t, e, 440, 20) {
		if _, err := d.Decode(out, pkt); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.DecodePLC(out); err != nil {
		t.Fatalf("DecodePLC: %v", err)
	}
	if p := power(out, 440); p < 1e5 {
		t.Errorf("PLC frame has power %.3g at 440 Hz, want a continuation", p)
	}
}

func TestDTXSilenceIsTiny(t *testing.T) {
	e := mustEncoder(t, params(false, true))
	silence := make([]int16, FrameSamples)
	buf := make([]byte, MaxPacketBytes)
	tiny := 0
	// libopus needs about 200 ms of silence before it enters DTX, and
	// then sends a comfort-noise update every 400 ms.
	for i := range 50 {
		n, err := e.Encode(buf, silence)
		if err != nil {
			t.Fatal(err)
		}
		if i >= 20 && n <= 2 {
			tiny++
		}
	}
	if tiny < 25 {
		t.Errorf("DTX: %d of the last 30 silent frames were ≤ 2 bytes, want most", tiny)
	}
	if !e.InDTX() {
		t.Error("InDTX false after 1 s of silence")
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"bitrate too low", func() error {
			_, err := NewEncoder(EncoderParams{Bitrate: 100, PacketLossPerc: 10, Complexity: 5})
			return err
		}, ErrBadArg},
		{"complexity", func() error { _, err := NewEncoder(EncoderParams{Bitrate: DefaultBitrate, Complexity: 11}); return err }, ErrBadArg},
		{"loss", func() error {
			_, err := NewEncoder(EncoderParams{Bitrate: DefaultBitrate, PacketLossPerc: 101})
			return err
		}, ErrBadArg},
		{"negative loss", func() error {
			_, err := NewEncoder(EncoderParams{Bitrate: DefaultBitrate, PacketLossPerc: -1})
			return err
		}, ErrBadArg},
		{"empty pcm", func() error {
			_, err := mustEncoder(t, params(false, false)).Encode(make([]byte, 10), nil)
			return err
		}, ErrBadArg},
		{"bad frame size", func() error {
			_, err := mustEncoder(t, params(false, false)).Encode(make([]byte, 100), make([]int16, 100))
			return err
		}, ErrBadArg},
		{"invalid packet", func() error {
			// TOC code 3 (arbitrary frame count) announcing zero frames.
			_, err := mustDecoder(t).Decode(make([]int16, FrameSamples), []byte{0x03, 0x00})
			return err
		}, ErrInvalidPacket},
		{"buffer too small", func() error {
			pkt := encodeTone(t, mustEncoder(t, params(false, false)), 440, 1)[0]
			_, err := mustDecoder(t).Decode(make([]int16, FrameSamples/2), pkt)
			return err
		}, ErrBufferTooSmall},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNoAllocations(t *testing.T) {
	e := mustEncoder(t, params(true, true))
	d := mustDecoder(t)
	pcm := make([]int16, FrameSamples)
	sine(pcm, 440, 8000, 0)
	buf := make([]byte, MaxPacketBytes)
	out := make([]int16, FrameSamples)
	allocs := testing.AllocsPerRun(100, func() {
		n, err := e.Encode(buf, pcm)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decode(out, buf[:n]); err != nil {
			t.Fatal(err)
		}
		if err := d.DecodeFEC(out, buf[:n]); err != nil {
			t.Fatal(err)
		}
		if err := d.DecodePLC(out); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("encode+decode+FEC+PLC: %v allocs per frame, want 0", allocs)
	}
}

// A zero is a zero: 0 % loss and complexity 0 are settings of their own,
// not "the default", and encode.
func TestZeroValuesAreValues(t *testing.T) {
	e := mustEncoder(t, EncoderParams{Bitrate: testBitrate})
	if c, err := e.enc.Complexity(); err != nil || c != 0 {
		t.Fatalf("complexity = %d, %v; want 0", c, err)
	}
	if l, err := e.enc.PacketLossPerc(); err != nil || l != 0 {
		t.Fatalf("packet loss = %d, %v; want 0", l, err)
	}
	if pkts := encodeTone(t, e, 440, 1); len(pkts) == 0 {
		t.Fatal("no packets at complexity 0")
	}
}

// testBitrate is any bitrate libopus takes.
const testBitrate = 24000
