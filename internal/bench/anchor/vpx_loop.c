/*
 * The VP8 anchor of `make bench`: a plain C loop over libvpx, with nothing
 * of voipd's in between, encoding the same I420 frames with the same
 * settings as voipd's encoder (codec/vp8/vpx.c): realtime deadline,
 * cpu-used -6, 1 thread, CBR at 800 kbit/s, error resilient, lag 0, frame
 * dropping off, a keyframe at least every 90 frames, the 90 kHz timebase.
 * The frames are the raw file voipbench frames writes (the moving pattern
 * of codec/codectest, 30 frames, cycled as the Go benchmarks cycle them).
 *
 * Usage: vpx_loop FILE WIDTH HEIGHT [runs] [frames-per-run]
 * Each run prints one line in `go test -bench` format:
 *   BenchmarkCLoopVP8Encode640x480-1  N  T ns/op
 * Built by scripts/bench.sh: gcc -O2 vpx_loop.c $(pkg-config --cflags --libs vpx)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int die(const char *what, vpx_codec_ctx_t *ctx) {
	fprintf(stderr, "vpx_loop: %s: %s\n", what, ctx ? vpx_codec_error(ctx) : "");
	return 1;
}

int main(int argc, char **argv) {
	if (argc < 4) {
		fprintf(stderr, "usage: vpx_loop FILE WIDTH HEIGHT [runs] [frames-per-run]\n");
		return 2;
	}
	int w = atoi(argv[2]), h = atoi(argv[3]);
	int runs = argc > 4 ? atoi(argv[4]) : 5;
	int frames = argc > 5 ? atoi(argv[5]) : 300;
	size_t fsz = (size_t)w * h + 2 * (size_t)((w + 1) / 2) * ((h + 1) / 2);
	FILE *f = fopen(argv[1], "rb");
	if (!f) return die(argv[1], NULL);
	unsigned char *raw = malloc(fsz * 64);
	size_t nframes = fread(raw, fsz, 64, f);
	fclose(f);
	if (nframes == 0) return die("no frame in the file", NULL);

	vpx_codec_enc_cfg_t c;
	if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &c, 0)) return die("config", NULL);
	c.g_w = w;
	c.g_h = h;
	c.g_threads = 1;
	c.g_timebase.num = 1;
	c.g_timebase.den = 90000;
	c.g_pass = VPX_RC_ONE_PASS;
	c.g_lag_in_frames = 0;
	c.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	c.rc_end_usage = VPX_CBR;
	c.rc_target_bitrate = 800;
	c.rc_resize_allowed = 0;
	c.rc_dropframe_thresh = 0;
	c.rc_min_quantizer = 2;
	c.rc_max_quantizer = 56;
	c.rc_undershoot_pct = 100;
	c.rc_overshoot_pct = 15;
	c.rc_buf_initial_sz = 500;
	c.rc_buf_optimal_sz = 600;
	c.rc_buf_sz = 1000;
	c.kf_mode = VPX_KF_AUTO;
	c.kf_min_dist = 0;
	c.kf_max_dist = 90;
	vpx_codec_ctx_t ctx;
	if (vpx_codec_enc_init(&ctx, vpx_codec_vp8_cx(), &c, 0)) return die("init", &ctx);
	if (vpx_codec_control(&ctx, VP8E_SET_CPUUSED, -6) || vpx_codec_control(&ctx, VP8E_SET_NOISE_SENSITIVITY, 0) ||
	    vpx_codec_control(&ctx, VP8E_SET_STATIC_THRESHOLD, 1) ||
	    vpx_codec_control(&ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION) ||
	    vpx_codec_control(&ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 900))
		return die("control", &ctx);

	vpx_image_t img;
	long long pts = 0, bytes = 0;
	for (int r = -1; r < runs; r++) { /* run -1 warms up */
		double t0 = now_ns();
		for (int i = 0; i < frames; i++) {
			vpx_img_wrap(&img, VPX_IMG_FMT_I420, w, h, 1, raw + fsz * ((size_t)pts % nframes));
			if (vpx_codec_encode(&ctx, &img, pts * 3000, 3000, 0, VPX_DL_REALTIME)) return die("encode", &ctx);
			vpx_codec_iter_t it = NULL;
			const vpx_codec_cx_pkt_t *pkt;
			while ((pkt = vpx_codec_get_cx_data(&ctx, &it)) != NULL)
				if (pkt->kind == VPX_CODEC_CX_FRAME_PKT) bytes += pkt->data.frame.sz;
			pts++;
		}
		double dt = now_ns() - t0;
		if (r >= 0) printf("BenchmarkCLoopVP8Encode%dx%d-1 %d %.1f ns/op\n", w, h, frames, dt / frames);
	}
	fprintf(stderr, "vpx_loop: %s, %.0f bytes/frame (%.0f kbit/s at 30 fps)\n", vpx_codec_version_str(),
		(double)bytes / pts, (double)bytes * 8 * 30 / pts / 1000);
	vpx_codec_destroy(&ctx);
	free(raw);
	return 0;
}
