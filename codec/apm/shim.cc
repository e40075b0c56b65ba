// shim.cc: see shim.h.
#include "shim.h"

#include <stdio.h>
#include <string.h>

#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

struct apm {
  webrtc::AudioProcessing *ap;
  webrtc::AudioFrame render, capture;
  int rate, samples;
  apm_config cfg;
};

static int configure(apm *a, char *err, int errlen) {
  webrtc::AudioProcessing *ap = a->ap;
  if (ap->Initialize(a->rate, a->rate, a->rate, webrtc::AudioProcessing::kMono,
                     webrtc::AudioProcessing::kMono, webrtc::AudioProcessing::kMono) != 0) {
    snprintf(err, errlen, "initialize at %d Hz failed", a->rate);
    return -1;
  }
  int rc = 0;
  if (a->cfg.echo) {
    rc |= ap->echo_cancellation()->enable_drift_compensation(false);
    rc |= ap->echo_cancellation()->set_suppression_level(webrtc::EchoCancellation::kModerateSuppression);
    rc |= ap->echo_cancellation()->enable_metrics(true);
    rc |= ap->echo_cancellation()->enable_delay_logging(true);
  }
  rc |= ap->echo_cancellation()->Enable(a->cfg.echo != 0);
  if (a->cfg.noise) {
    rc |= ap->noise_suppression()->set_level(webrtc::NoiseSuppression::kHigh);
  }
  rc |= ap->noise_suppression()->Enable(a->cfg.noise != 0);
  if (a->cfg.gain) {
    rc |= ap->gain_control()->set_mode(webrtc::GainControl::kAdaptiveDigital);
    rc |= ap->gain_control()->set_target_level_dbfs(3);
    rc |= ap->gain_control()->set_compression_gain_db(9);
    rc |= ap->gain_control()->enable_limiter(true);
  }
  rc |= ap->gain_control()->Enable(a->cfg.gain != 0);
  rc |= ap->high_pass_filter()->Enable(a->cfg.highpass != 0);
  if (rc != 0) {
    snprintf(err, errlen, "configuring the components failed");
    return -1;
  }
  return 0;
}

static void frame_init(webrtc::AudioFrame *f, int rate, int samples) {
  f->sample_rate_hz_ = rate;
  f->samples_per_channel_ = samples;
  f->num_channels_ = 1;
}

apm *apm_new(int rate, apm_config cfg, char *err, int errlen) {
  webrtc::Config config;
  // The extended filter (128 ms) and delay-agnostic mode: robust to the
  // delay a desktop or embedded Linux reports, which is never exact.
  config.Set<webrtc::ExtendedFilter>(new webrtc::ExtendedFilter(true));
  config.Set<webrtc::DelayAgnostic>(new webrtc::DelayAgnostic(true));
  // The experimental AGC drives an analog microphone volume voipd does not
  // own; the digital one is configured in configure().
  config.Set<webrtc::ExperimentalAgc>(new webrtc::ExperimentalAgc(false));
  webrtc::AudioProcessing *ap = webrtc::AudioProcessing::Create(config);
  if (ap == NULL) {
    snprintf(err, errlen, "AudioProcessing::Create failed");
    return NULL;
  }
  apm *a = new apm;
  a->ap = ap;
  a->rate = rate;
  a->samples = rate / 100;
  a->cfg = cfg;
  if (configure(a, err, errlen) != 0) {
    delete ap;
    delete a;
    return NULL;
  }
  frame_init(&a->render, rate, a->samples);
  frame_init(&a->capture, rate, a->samples);
  return a;
}

int apm_render(apm *a, const short *frame) {
  memcpy(a->render.data_, frame, sizeof(short) * a->samples);
  frame_init(&a->render, a->rate, a->samples);
  return a->ap->ProcessReverseStream(&a->render);
}

int apm_capture(apm *a, short *frame, int delay_ms) {
  memcpy(a->capture.data_, frame, sizeof(short) * a->samples);
  frame_init(&a->capture, a->rate, a->samples);
  a->ap->set_stream_delay_ms(delay_ms);
  int rc = a->ap->ProcessStream(&a->capture);
  memcpy(frame, a->capture.data_, sizeof(short) * a->samples);
  return rc;
}

void apm_process(void *p) {
  apm_frames *f = static_cast<apm_frames *>(p);
  f->rc = 0;
  for (int i = 0; i < f->frames && f->rc == 0; i++) {
    short *frame = f->pcm + i * f->a->samples;
    f->rc = f->render ? apm_render(f->a, frame) : apm_capture(f->a, frame, f->delay_ms);
  }
}

void apm_stats_get(apm *a, apm_stats *s) {
  memset(s, 0, sizeof(*s));
  s->delay_median_ms = -1;
  webrtc::EchoCancellation *ec = a->ap->echo_cancellation();
  if (!ec->is_enabled()) return;
  webrtc::EchoCancellation::Metrics m;
  if (ec->GetMetrics(&m) == 0) {
    s->has_echo_metrics = 1;
    s->erle_db = (float)m.echo_return_loss_enhancement.average;
    s->erl_db = (float)m.echo_return_loss.average;
  }
  int median = -1, std = 0;
  float poor = 0;
  if (ec->GetDelayMetrics(&median, &std, &poor) == 0) {
    s->delay_median_ms = median;
    s->delay_std_ms = std;
    s->poor_delays = poor;
  }
  s->stream_has_echo = ec->stream_has_echo() ? 1 : 0;
}

// apm_reset starts the echo canceller afresh, and only it: the noise
// suppressor and the gain control keep what they learnt (started again
// in the middle of speech, the suppressor takes the speech for noise).
int apm_reset(apm *a) {
  if (!a->cfg.echo) return 0;
  webrtc::EchoCancellation *ec = a->ap->echo_cancellation();
  int rc = ec->Enable(false);
  rc |= ec->Enable(true);
  rc |= ec->enable_drift_compensation(false);
  rc |= ec->set_suppression_level(webrtc::EchoCancellation::kModerateSuppression);
  rc |= ec->enable_metrics(true);
  rc |= ec->enable_delay_logging(true);
  return rc;
}

void apm_free(apm *a) {
  if (a == NULL) return;
  delete a->ap;
  delete a;
}
