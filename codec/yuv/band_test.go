package yuv

import (
	"bytes"
	"testing"
)

// TestYUY2BandsMatchOneCall: the banded, prefetching conversion gives the
// bytes of libyuv's one call over the whole frame, for heights that are
// and are not multiples of the band, odd sizes and padded rows.
func TestYUY2BandsMatchOneCall(t *testing.T) {
	for _, tc := range []struct{ w, h, stride int }{
		{640, 480, 1280}, {1280, 720, 2560}, {65, 49, 130}, {33, 17, 80}, {16, 15, 32}, {2, 1, 4}, {640, 31, 1344},
	} {
		src := make([]byte, tc.stride*tc.h)
		x := uint32(tc.w*7919 + tc.h)
		for i := range src {
			x = x*1664525 + 1013904223
			src[i] = byte(x >> 24)
		}
		got, want := NewI420(tc.w, tc.h), NewI420(tc.w, tc.h)
		if err := YUY2ToI420(got, src, tc.stride); err != nil {
			t.Fatal(err)
		}
		if err := yuy2ToI420Whole(want, src, tc.stride); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Y, want.Y) || !bytes.Equal(got.U, want.U) || !bytes.Equal(got.V, want.V) {
			t.Fatalf("%dx%d stride %d: banded conversion differs from libyuv's one call", tc.w, tc.h, tc.stride)
		}
	}
}
