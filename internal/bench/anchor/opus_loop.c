/*
 * The Opus anchor of `make bench`: a plain C loop over libopus, with
 * nothing of voipd's in between, encoding the same 20 ms frame with the
 * same settings as the Go benchmarks it is compared with (codec/opus'
 * BenchmarkEncode, media's BenchmarkSendFrame): 48 kHz mono, the VOIP
 * application, 32 kbit/s, in-band FEC, 10 % expected loss, DTX, and
 * libopus' default complexity (10 at 48 kHz, as the Go side leaves it).
 * The frame is a 440 Hz sine at amplitude 8000 from phase 0 (dsp.Sine).
 *
 * Usage: opus_loop [runs] [frames-per-run]
 * Each run prints one line in `go test -bench` format, so scripts/bench.sh
 * reads it with the same parser:
 *   BenchmarkCLoopOpusEncode-1  N  T ns/op
 * Built by scripts/bench.sh: gcc -O2 opus_loop.c $(pkg-config --cflags --libs opus) -lm
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <opus.h>

#define RATE 48000
#define FRAME 960
#define MAX_PACKET 1275

static double now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	int frames = argc > 2 ? atoi(argv[2]) : 20000;
	int err = 0;
	OpusEncoder *enc = opus_encoder_create(RATE, 1, OPUS_APPLICATION_VOIP, &err);
	if (err != OPUS_OK) {
		fprintf(stderr, "opus_encoder_create: %s\n", opus_strerror(err));
		return 1;
	}
	if (opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000)) != OPUS_OK ||
	    opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(1)) != OPUS_OK ||
	    opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(10)) != OPUS_OK ||
	    opus_encoder_ctl(enc, OPUS_SET_DTX(1)) != OPUS_OK) {
		fprintf(stderr, "opus_encoder_ctl failed\n");
		return 1;
	}
	opus_int16 pcm[FRAME];
	double phase = 0, step = 2 * M_PI * 440.0 / RATE;
	for (int i = 0; i < FRAME; i++) {
		pcm[i] = (opus_int16)(8000 * sin(phase)); /* truncates, as Go's int16() */
		phase += step;
	}
	unsigned char out[MAX_PACKET];
	long bytes = 0;
	for (int i = 0; i < 200; i++) /* warm up */
		if (opus_encode(enc, pcm, FRAME, out, MAX_PACKET) < 0)
			return 1;
	for (int r = 0; r < runs; r++) {
		double t0 = now_ns();
		for (int i = 0; i < frames; i++) {
			int n = opus_encode(enc, pcm, FRAME, out, MAX_PACKET);
			if (n < 0) {
				fprintf(stderr, "opus_encode: %s\n", opus_strerror(n));
				return 1;
			}
			bytes += n;
		}
		double dt = now_ns() - t0;
		printf("BenchmarkCLoopOpusEncode-1 %d %.1f ns/op\n", frames, dt / frames);
	}
	fprintf(stderr, "opus_loop: %s, %.1f bytes/frame\n", opus_get_version_string(), (double)bytes / ((double)runs * frames));
	opus_encoder_destroy(enc);
	return 0;
}
