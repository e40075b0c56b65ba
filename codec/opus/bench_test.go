package opus

import (
	"testing"

	hopus "github.com/hraban/opus"
)

// The Anchor benchmarks call libopus through hraban/opus with nothing of
// ours in between, on the same frame with the same parameters as the
// wrapped ones, so `make bench` can print ours/anchor as a ratio.

func benchFrame() []int16 {
	pcm := make([]int16, FrameSamples)
	sine(pcm, 440, 8000, 0)
	return pcm
}

func anchorEncoder(b *testing.B) *hopus.Encoder {
	e, err := hopus.NewEncoder(SampleRate, Channels, hopus.AppVoIP)
	if err != nil {
		b.Fatal(err)
	}
	for _, err := range []error{e.SetBitrate(DefaultBitrate), e.SetInBandFEC(true), e.SetDTX(true), e.SetPacketLossPerc(DefaultPacketLossPerc)} {
		if err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// warmFrames are encoded before the timing starts, as the C loop
// (internal/bench/anchor/opus_loop.c) warms up with 200 frames it does not time.
const warmFrames = 200

func BenchmarkEncode(b *testing.B) {
	e := mustEncoder(b, DefaultEncoderParams())
	pcm, buf := benchFrame(), make([]byte, MaxPacketBytes)
	for range warmFrames {
		if _, err := e.Encode(buf, pcm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Encode(buf, pcm); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAnchorLibopusEncode(b *testing.B) {
	e := anchorEncoder(b)
	pcm, buf := benchFrame(), make([]byte, MaxPacketBytes)
	for range warmFrames {
		if _, err := e.Encode(pcm, buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Encode(pcm, buf); err != nil {
			b.Fatal(err)
		}
	}
}

func encodedFrame(b *testing.B) []byte {
	e := anchorEncoder(b)
	buf := make([]byte, MaxPacketBytes)
	n, err := e.Encode(benchFrame(), buf)
	if err != nil {
		b.Fatal(err)
	}
	return buf[:n]
}

func BenchmarkDecode(b *testing.B) {
	pkt, d, out := encodedFrame(b), mustDecoder(b), make([]int16, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(out, pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAnchorLibopusDecode(b *testing.B) {
	pkt, out := encodedFrame(b), make([]int16, FrameSamples)
	d, err := hopus.NewDecoder(SampleRate, Channels)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(pkt, out); err != nil {
			b.Fatal(err)
		}
	}
}
