// C helpers for package vp8 (vpx.c). libvpx's init functions are macros
// cgo cannot call, its out-parameters would make Go locals escape to the
// heap, and a vpx_image_t may hold the caller's Go planes only for the
// duration of one call; these helpers take plain arguments and return
// small structs by value.
#ifndef VOIPD_VP8_VPX_H
#define VOIPD_VP8_VPX_H
#include <stdint.h>
#include <stddef.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

// VP8_ERR_TOO_SMALL is voipd's own code beside vpx_codec_err_t's (0..8):
// the frame did not fit the caller's buffer.
#define VP8_ERR_TOO_SMALL 1000

typedef struct {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	vpx_image_t img;
} vp8_enc;

typedef struct {
	int n;       // bytes written to dst
	int key;     // the frame is a keyframe
	int err;     // vpx_codec_err_t or VP8_ERR_TOO_SMALL
	int need;    // with VP8_ERR_TOO_SMALL: the bytes the frame needed
} vp8_enc_result;

int vp8_enc_init(vp8_enc *e, int w, int h, int kbps, int threads, int kf_max, int cpu_used, int max_intra_pct);
vp8_enc_result vp8_enc_encode(vp8_enc *e, uint8_t *y, int ys, uint8_t *u, int us, uint8_t *v, int vs,
	int64_t pts, unsigned long duration, int force_key, uint8_t *dst, size_t cap);
int vp8_enc_set_bitrate(vp8_enc *e, int kbps);

typedef struct {
	int err;     // vpx_codec_err_t
	int corrupt; // VP8D_GET_FRAME_CORRUPTED: decoded from a damaged reference
	uint8_t *y, *u, *v;
	int ys, us, vs, w, h;
} vp8_frame;

// tokens.c: see tokens.go.
void vp8_malloc_setup(void);
size_t vp8_release_zero_chunks(uintptr_t lo, uintptr_t hi, size_t min, size_t max, uintptr_t *first);
size_t vp8_resident_pages(uintptr_t lo, uintptr_t hi);

int vp8_dec_init(vpx_codec_ctx_t *ctx);
vp8_frame vp8_dec_decode(vpx_codec_ctx_t *ctx, const uint8_t *data, unsigned int n);
#endif
