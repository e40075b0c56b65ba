package vp8_test

import (
	"bytes"
	"os"
	"testing"
	"unsafe"

	"github.com/voipd/voipd/codec/codectest"
	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/codec/yuv"
)

// TestTokenPagesReleased: a 640x480 encoder gives back nearly all of its
// token buffer (7 MiB on 64-bit machines, 3.5 on 32-bit) at creation, the pages are out of memory, and the
// encoder writes some of them back as it encodes — but not all. Twice, so
// the second encoder after the first closed gets the same (the fixed mmap
// threshold).
func TestTokenPagesReleased(t *testing.T) {
	if _, err := os.Stat("/proc/self/maps"); err != nil {
		t.Fatalf("this test needs /proc/self/maps: %v", err)
	}
	const w, h = 640, 480
	lo, _ := vp8.TokenBufferBounds(w, h)
	for round := range 2 {
		enc, err := vp8.NewEncoder(vp8.EncoderParams{Width: w, Height: h})
		if err != nil {
			t.Fatal(err)
		}
		released, at := enc.TokenRelease()
		// Debian's libvpx: 460800 tokens (TokenBufferBounds' lo is 8 bytes
		// each) of a pointer and 4 bytes, padded: 16 bytes on 64-bit
		// machines (7.03 MiB), 8 on 32-bit ones such as armhf (3.52 MiB);
		// all but the chunk's first page released.
		tokenBytes := 2 * int(unsafe.Sizeof(uintptr(0)))
		if want := lo/8*tokenBytes - os.Getpagesize(); released < want {
			enc.Close()
			t.Fatalf("round %d: released %d bytes of the token buffer, want ≥ %d", round, released, want)
		}
		pages := released / os.Getpagesize()
		end := at + uintptr(released)
		if r := vp8.ResidentPages(at, end); r != 0 {
			enc.Close()
			t.Fatalf("round %d: %d of %d released pages resident before the first frame", round, r, pages)
		}
		img := yuv.NewI420(w, h)
		dst := make([]byte, vp8.MaxFrameBytes(w, h))
		for i := range 60 {
			codectest.Pattern(img, i)
			if _, _, err := enc.Encode(dst, img, int64(i)*3000, i == 30); err != nil {
				enc.Close()
				t.Fatal(err)
			}
		}
		r := vp8.ResidentPages(at, end)
		t.Logf("round %d: released %.2f MiB of libvpx's token buffer; after 60 frames (2 keyframes) %d of its %d pages resident",
			round, float64(released)/(1<<20), r, pages)
		if r <= 0 || r >= pages*3/4 {
			enc.Close()
			t.Fatalf("round %d: %d of %d released pages resident after 60 frames: want some (it is the token buffer libvpx writes) and under 3/4", round, r, pages)
		}
		enc.Close()
	}
}

// TestTokenReleaseSameBitstream: with and without the release, the same
// frames give the same bytes (libvpx at a fixed speed is deterministic).
func TestTokenReleaseSameBitstream(t *testing.T) {
	const w, h = 640, 480
	p := vp8.EncoderParams{Width: w, Height: h, CPUUsed: -6}
	a, err := vp8.NewEncoder(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := vp8.NewEncoderKeepingTokens(p)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if ra, _ := a.TokenRelease(); ra == 0 {
		t.Fatalf("released nothing of the token buffer")
	}
	if rb, _ := b.TokenRelease(); rb != 0 {
		t.Fatalf("released %d bytes with the release off", rb)
	}
	img := yuv.NewI420(w, h)
	da, db := make([]byte, vp8.MaxFrameBytes(w, h)), make([]byte, vp8.MaxFrameBytes(w, h))
	for i := range 90 {
		codectest.Pattern(img, i)
		na, ka, err := a.Encode(da, img, int64(i)*3000, i == 45)
		if err != nil {
			t.Fatal(err)
		}
		nb, kb, err := b.Encode(db, img, int64(i)*3000, i == 45)
		if err != nil {
			t.Fatal(err)
		}
		if ka != kb || !bytes.Equal(da[:na], db[:nb]) {
			t.Fatalf("frame %d differs: %d bytes (key %v) with the release, %d (key %v) without", i, na, ka, nb, kb)
		}
	}
}
