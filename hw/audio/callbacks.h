// The device callbacks of hw/audio, in C: miniaudio's thread runs them
// without entering Go (see playback.go and capture.go for why).
#ifndef VOIPD_AUDIO_CALLBACKS_H
#define VOIPD_AUDIO_CALLBACKS_H

#include <pthread.h>
#include <stdint.h>

// How late each callback ran (hw/audio's lateness rule): the gap since the
// previous one beyond the samples that one carried, on the device clock.
// The callback writes; Go reads count, late and worst_ns atomically.
typedef struct {
	uint64_t count, late;
	int64_t worst_ns, prev_ns, prev_dur_ns, period_ns;
} voipd_late;

// A speaker: a single-producer ring (Go's Write stores w, the callback r),
// in C memory. The counters are the callback's.
typedef struct {
	int16_t *buf;
	uint64_t size;      // samples
	uint64_t w, r;      // samples written and played since open
	uint32_t started;   // Go wrote a frame: a short callback is an underrun
	uint32_t channels;
	int wake;           // written after a callback that left want samples of room
	uint64_t want;      // the room the Go writer waits for (0: any callback wakes it)
	uint64_t underruns; // callbacks that found less than they needed
	uint64_t samples;   // samples handed to the device
	voipd_late late;
} voipd_speaker;

// A microphone: the callback puts what the device captured, dropping the
// oldest whole frames when the reader is behind; Go takes whole frames.
// The lock is held for a copy of at most a few periods, never while anyone
// blocks, so the audio thread waits at worst for one short memmove.
typedef struct {
	pthread_mutex_t mu;
	int16_t *buf;
	uint64_t size;      // samples
	uint64_t w, r;      // samples captured and read since open (under mu)
	uint32_t frame;     // samples per frame: what is dropped whole
	uint32_t channels;
	int wake;           // written after each callback
	uint64_t dropped;   // frames lost because the reader fell behind
	uint64_t samples;   // samples the device delivered
	voipd_late late;
} voipd_mic;

void voipd_late_observe_at(voipd_late *l, int64_t now, uint64_t frames);

void voipd_speaker_fill(voipd_speaker *s, int16_t *out, uint64_t n);
int voipd_speaker_attach(void *pDevice, voipd_speaker *s, uint32_t sampleRate);

uint64_t voipd_mic_put(voipd_mic *m, const int16_t *in, uint64_t n);
int voipd_mic_get(voipd_mic *m, int16_t *dst, uint64_t n);
uint64_t voipd_mic_buffered(voipd_mic *m);
// voipd_mic_get_short is the reader's call (internal/ccall's shape): with
// dst, voipd_mic_get of n samples (ret 1 or 0); without, voipd_mic_buffered.
typedef struct {
	voipd_mic *m;
	int16_t *dst;
	uint64_t n;
	uint64_t ret;
} voipd_mic_short;
void voipd_mic_get_short(void *p);
void voipd_mic_deliver(voipd_mic *m, const int16_t *in, uint64_t n);
int voipd_mic_attach(void *pDevice, voipd_mic *m, uint32_t sampleRate);

int voipd_wake_open(int fds[2]);

#endif
