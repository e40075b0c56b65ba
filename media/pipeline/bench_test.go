package pipeline

import "testing"

// The per-frame paths with -benchmem. The anchors, libopus itself on the
// same 440 Hz frame with the same parameters, are codec/opus'
// BenchmarkAnchorLibopusEncode and BenchmarkAnchorLibopusDecode; a
// bench report divides these figures by them.

func BenchmarkSendFrame(b *testing.B) {
	s, _ := newSendPath(b)
	// Warm up as opus_loop.c does (200 frames it does not time).
	for range 200 {
		if err := s.sendFrame(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.sendFrame(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReceiveFrame(b *testing.B) {
	rp := newReceivePath(b, 1)
	for range 5 {
		rp.frame()
	}
	b.ReportAllocs()
	for b.Loop() {
		rp.frame()
	}
}

func BenchmarkReceiveFrame4Members(b *testing.B) {
	rp := newReceivePath(b, 4)
	for range 5 {
		rp.frame()
	}
	b.ReportAllocs()
	for b.Loop() {
		rp.frame()
	}
}
