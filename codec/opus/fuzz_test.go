package opus

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// FuzzDecode feeds libopus whatever a member's RTP payload holds, as
// media/pipeline's receiver does: the packet is decoded, and used for FEC
// recovery of the frame before it. Nothing may crash; a failure is one of
// the package's error kinds; a decode writes no more samples than the
// buffer holds. HasFEC's reading of the frame layout is checked against
// libopus: every packet libopus decodes has a first frame that HasFEC
// finds, inside the packet.
func FuzzDecode(f *testing.F) {
	p := DefaultEncoderParams()
	p.Bitrate, p.FEC, p.PacketLossPerc = 32000, true, 20
	enc, err := NewEncoder(p)
	if err != nil {
		f.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	frame := make([]int16, FrameSamples)
	buf := make([]byte, MaxPacketBytes)
	for n := range 12 {
		speechLike(frame, n, rng)
		k, err := enc.Encode(buf, frame)
		if err != nil {
			f.Fatal(err)
		}
		if n%3 == 2 { // SILK packets with LBRR, once the encoder has settled
			f.Add(append([]byte(nil), buf[:k]...))
		}
	}
	for _, pkt := range [][]byte{
		{0x08},                                   // a 1-byte SILK packet: DTX
		{31 << 3, 0xff, 0xff, 0xff},              // CELT only
		{0x09, 1, 2, 3, 4},                       // code 1: two frames of 2 bytes
		{0x0a, 252, 1},                           // code 2 whose first frame runs past the end
		{0x0b, 0x42, 2, 1, 2, 3, 4, 0, 0},        // code 3, CBR, padded
		{0x0b, 0x83, 1, 2, 5, 6, 7, 8, 9},        // code 3, VBR, three frames
		{0x0b, 0xc0 | 48, 0xff, 0xff, 0xff, 0x0}, // code 3: 48 frames, padding longer than the packet
	} {
		f.Add(pkt)
	}
	dec, err := NewDecoder()
	if err != nil {
		f.Fatal(err)
	}
	pcm := make([]int16, MaxFrameSamples)
	fec := make([]int16, FrameSamples)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		kinds := []error{ErrBadArg, ErrBufferTooSmall, ErrInvalidPacket, ErrInternal, ErrUnimplemented, ErrInvalidState, ErrAllocFail}
		ofKind := func(err error) bool {
			for _, k := range kinds {
				if errors.Is(err, k) {
					return true
				}
			}
			return false
		}
		has := HasFEC(pkt)
		if err := dec.DecodeFEC(fec, pkt); err != nil && !ofKind(err) {
			t.Fatalf("DecodeFEC: error of no kind: %v", err)
		}
		n, err := dec.Decode(pcm, pkt)
		if err != nil {
			if !ofKind(err) {
				t.Fatalf("Decode: error of no kind: %v", err)
			}
			return
		}
		if n < 0 || n > len(pcm) {
			t.Fatalf("decoded %d samples into %d", n, len(pcm))
		}
		off, size, ok := firstFrame(pkt)
		if !ok || off < 1 || size < 0 || off+size > len(pkt) {
			t.Fatalf("libopus decodes % x, but its first frame is at %d+%d (ok %v)", pkt, off, size, ok)
		}
		if has && pkt[0]>>3 >= 16 {
			t.Fatalf("a CELT-only packet % x said to carry FEC", pkt)
		}
	})
}
