#ifndef VOIPD_YUV_BAND_H
#define VOIPD_YUV_BAND_H
#include <stdint.h>
// Rows a band (even, so each band starts on a chroma row) and bands
// prefetched ahead: measured best of 2..32 rows and 1..8 bands.
#define VOIPD_BAND 16
#define VOIPD_BANDS_AHEAD 2
int voipd_yuy2_to_i420(const uint8_t *src, int src_stride, uint8_t *y, int ys, uint8_t *u, int us,
	uint8_t *v, int vs, int w, int h);
#endif
