// shim.h: the C face of codec/apm over WebRTC's audio processing module
// (Debian's webrtc-audio-processing 0.3, a C++ API). It is kept to what
// voipd needs — create, render, capture with its delay, stats, free — so
// that the module's 1.x line (AEC3) can replace the C++ behind it without
// touching the Go side.
#ifndef VOIPD_APM_SHIM_H
#define VOIPD_APM_SHIM_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct apm apm;

typedef struct {
  int echo;       // echo cancellation
  int noise;      // noise suppression
  int gain;       // automatic gain control (adaptive digital)
  int highpass;   // high-pass filter
} apm_config;

typedef struct {
  int has_echo_metrics;   // the canceller has measured what follows
  float erle_db;          // echo return loss enhancement, its recent average
  float erl_db;           // echo return loss (the room's own attenuation)
  int delay_median_ms;    // the delay the canceller finds, -1 when unknown
  int delay_std_ms;
  float poor_delays;      // the share of delay estimates that hurt it
  int stream_has_echo;    // the last capture frame carried echo
} apm_stats;

// apm_new makes a processor of 10 ms mono frames at rate Hz; NULL and a
// message in err (of errlen bytes) on failure.
apm *apm_new(int rate, apm_config cfg, char *err, int errlen);
// apm_render feeds one 10 ms frame of what is played (the far end).
int apm_render(apm *a, const short *frame);
// apm_capture processes one 10 ms frame of the microphone in place;
// delay_ms is the time between a sample being rendered (apm_render) and
// its echo arriving in a capture frame.
int apm_capture(apm *a, short *frame, int delay_ms);
void apm_stats_get(apm *a, apm_stats *s);

// apm_frames is apm_process' argument block (internal/ccall's shape):
// frames 10 ms frames at pcm, rendered (render != 0) or captured in place
// with delay_ms; rc is the first failure's code, 0 if none.
typedef struct {
  apm *a;
  short *pcm;
  int frames;
  int delay_ms;
  int render;
  int rc;
} apm_frames;
void apm_process(void *p);
// apm_reset starts the echo canceller afresh (a device restarted, the
// timing broke); the other stages keep their state.
int apm_reset(apm *a);
void apm_free(apm *a);

#ifdef __cplusplus
}
#endif

#endif
