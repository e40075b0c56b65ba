// C helpers for package vp8; see vpx.h for why they exist.
#include <string.h>
#include "vpx.h"

int vp8_enc_init(vp8_enc *e, int w, int h, int kbps, int threads, int kf_max, int cpu_used, int max_intra_pct) {
	vpx_codec_err_t rc = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (rc != VPX_CODEC_OK) return rc;
	vpx_codec_enc_cfg_t *c = &e->cfg;
	c->g_w = w;
	c->g_h = h;
	c->g_threads = threads;
	// pts are on the 90 kHz RTP video clock, so capture times map 1:1.
	c->g_timebase.num = 1;
	c->g_timebase.den = 90000;
	c->g_pass = VPX_RC_ONE_PASS;
	c->g_lag_in_frames = 0; // no look-ahead: every frame comes out of its own encode call
	c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	// Rate control as libwebrtc sets it for realtime VP8 (libvpx_vp8_encoder.cc).
	c->rc_end_usage = VPX_CBR;
	c->rc_target_bitrate = kbps;
	c->rc_resize_allowed = 0;
	c->rc_dropframe_thresh = 0; // frame dropping off: every captured frame is sent
	c->rc_min_quantizer = 2;
	c->rc_max_quantizer = 56;
	c->rc_undershoot_pct = 100;
	c->rc_overshoot_pct = 15;
	c->rc_buf_initial_sz = 500;
	c->rc_buf_optimal_sz = 600;
	c->rc_buf_sz = 1000;
	c->kf_mode = VPX_KF_AUTO;
	c->kf_min_dist = 0;
	c->kf_max_dist = kf_max;
	rc = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), c, 0);
	if (rc != VPX_CODEC_OK) return rc;
	if ((rc = vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, cpu_used)) != VPX_CODEC_OK ||
	    (rc = vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0)) != VPX_CODEC_OK ||
	    (rc = vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1)) != VPX_CODEC_OK ||
	    (rc = vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION)) != VPX_CODEC_OK ||
	    (rc = vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, max_intra_pct)) != VPX_CODEC_OK) {
		vpx_codec_destroy(&e->ctx);
		return rc;
	}
	// The image header describes the caller's planes; the planes themselves
	// are set for each call (vpx_img_wrap would allocate without a buffer).
	memset(&e->img, 0, sizeof e->img);
	e->img.fmt = VPX_IMG_FMT_I420;
	e->img.bit_depth = 8;
	e->img.w = e->img.d_w = e->img.r_w = w;
	e->img.h = e->img.d_h = e->img.r_h = h;
	e->img.x_chroma_shift = e->img.y_chroma_shift = 1;
	e->img.bps = 12;
	return VPX_CODEC_OK;
}

vp8_enc_result vp8_enc_encode(vp8_enc *e, uint8_t *y, int ys, uint8_t *u, int us, uint8_t *v, int vs,
		int64_t pts, unsigned long duration, int force_key, uint8_t *dst, size_t cap) {
	vp8_enc_result r = {0, 0, 0, 0};
	e->img.planes[VPX_PLANE_Y] = y;
	e->img.planes[VPX_PLANE_U] = u;
	e->img.planes[VPX_PLANE_V] = v;
	e->img.stride[VPX_PLANE_Y] = ys;
	e->img.stride[VPX_PLANE_U] = us;
	e->img.stride[VPX_PLANE_V] = vs;
	vpx_codec_err_t rc = vpx_codec_encode(&e->ctx, &e->img, pts, duration,
		force_key ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME);
	// The planes are Go memory: cgo forbids keeping them past this call.
	memset(e->img.planes, 0, sizeof e->img.planes);
	if (rc != VPX_CODEC_OK) {
		r.err = rc;
		return r;
	}
	// With lag 0 and one token partition a frame is one packet, but drain
	// them all anyway: anything left would come out with the next frame.
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	size_t total = 0;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		size_t sz = pkt->data.frame.sz;
		if (total + sz <= cap) memcpy(dst + total, pkt->data.frame.buf, sz);
		total += sz;
		if (pkt->data.frame.flags & VPX_FRAME_IS_KEY) r.key = 1;
	}
	if (total > cap) {
		r.err = VP8_ERR_TOO_SMALL;
		r.need = (int)total;
		return r;
	}
	r.n = (int)total;
	return r;
}

int vp8_enc_set_bitrate(vp8_enc *e, int kbps) {
	e->cfg.rc_target_bitrate = kbps;
	return vpx_codec_enc_config_set(&e->ctx, &e->cfg);
}

int vp8_dec_init(vpx_codec_ctx_t *ctx) {
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = 1;
	return vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), &cfg, 0);
}

vp8_frame vp8_dec_decode(vpx_codec_ctx_t *ctx, const uint8_t *data, unsigned int n) {
	vp8_frame f;
	memset(&f, 0, sizeof f);
	f.err = vpx_codec_decode(ctx, data, n, NULL, 0);
	if (f.err != VPX_CODEC_OK) return f;
	int corrupt = 0;
	if (vpx_codec_control(ctx, VP8D_GET_FRAME_CORRUPTED, &corrupt) == VPX_CODEC_OK) f.corrupt = corrupt;
	vpx_codec_iter_t iter = NULL;
	vpx_image_t *img = vpx_codec_get_frame(ctx, &iter);
	if (img == NULL) return f; // nothing to show (a hidden frame)
	f.y = img->planes[VPX_PLANE_Y];
	f.u = img->planes[VPX_PLANE_U];
	f.v = img->planes[VPX_PLANE_V];
	f.ys = img->stride[VPX_PLANE_Y];
	f.us = img->stride[VPX_PLANE_U];
	f.vs = img->stride[VPX_PLANE_V];
	f.w = img->d_w;
	f.h = img->d_h;
	return f;
}
