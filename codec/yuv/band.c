// YUYV → I420 in bands of rows with the next rows prefetched; see
// yuy2ToI420Banded in convert.go for why.
#include <stddef.h>
#include <stdint.h>
#include <libyuv.h>
#include "band.h"

int voipd_yuy2_to_i420(const uint8_t *src, int src_stride, uint8_t *y, int ys, uint8_t *u, int us,
		uint8_t *v, int vs, int w, int h) {
	const size_t row = (size_t)src_stride;
	const size_t line = 64; // a cache line
	const uint8_t *end = src + row * (size_t)(h - 1) + (size_t)w * 2;
	// The first bands ahead, then, before each band, the band that many ahead.
	for (const uint8_t *p = src; p < end && p < src + row * VOIPD_BAND * VOIPD_BANDS_AHEAD; p += line)
		__builtin_prefetch(p);
	for (int r = 0; r < h; r += VOIPD_BAND) {
		const uint8_t *from = src + row * (size_t)(r + VOIPD_BAND * VOIPD_BANDS_AHEAD);
		for (const uint8_t *p = from; p < end && p < from + row * VOIPD_BAND; p += line)
			__builtin_prefetch(p);
		int n = h - r < VOIPD_BAND ? h - r : VOIPD_BAND;
		int rc = YUY2ToI420(src + row * (size_t)r, src_stride, y + (size_t)ys * r, ys,
			u + (size_t)us * (r / 2), us, v + (size_t)vs * (r / 2), vs, w, n);
		if (rc != 0) return rc;
	}
	return 0;
}
