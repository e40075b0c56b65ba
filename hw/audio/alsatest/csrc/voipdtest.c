/*
 * voipdtest: a tiny ALSA external PCM plugin (ioplug) for voipd's tests.
 *
 * Its open fails with -EBUSY while <state_dir>/busy exists, -ENOENT while
 * <state_dir>/absent exists and -EACCES while <state_dir>/denied exists, so
 * the whole chain from snd_pcm_open through miniaudio to voipd's typed
 * device errors runs for real on a machine without a sound card. Otherwise
 * it is a 48 kHz mono S16_LE device paced by CLOCK_MONOTONIC: capture
 * delivers silence and playback consumes, at the sample rate. A timerfd is
 * its poll descriptor, so ALSA's poll-based clients (miniaudio) wake at the
 * device pace.
 *
 * Built by the Go package alsatest: gcc -fPIC -DPIC -shared -lasound.
 */
#include <alsa/asoundlib.h>
#include <alsa/pcm_external.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RATE 48000

typedef struct {
	snd_pcm_ioplug_t io;
	int tfd;                 /* timerfd: the poll descriptor */
	struct timespec start;   /* when the stream started */
	uint64_t elapsed;        /* frames of device time accounted so far */
	snd_pcm_uframes_t ptr;   /* hw position within the buffer */
	int running;
} voipdtest_t;

static uint64_t frames_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ns = (int64_t)(now.tv_sec - t0->tv_sec) * 1000000000LL + (now.tv_nsec - t0->tv_nsec);
	return ns <= 0 ? 0 : (uint64_t)ns * RATE / 1000000000ULL;
}

/* pointer advances the hw position by the device time elapsed. It never
 * passes the application: a late capture reader loses the silence it missed
 * and a late playback writer gets the gap skipped, instead of an xrun; a
 * test device need not model those. */
static snd_pcm_sframes_t vt_pointer(snd_pcm_ioplug_t *io)
{
	voipdtest_t *v = io->private_data;
	if (v->running) {
		uint64_t due = frames_since(&v->start);
		uint64_t delta = due - v->elapsed;
		snd_pcm_uframes_t room = snd_pcm_ioplug_hw_avail(io, io->hw_ptr, io->appl_ptr);
		v->elapsed = due;
		if (delta > room)
			delta = room;
		v->ptr = (v->ptr + delta) % io->buffer_size;
	}
	return v->ptr;
}

static snd_pcm_sframes_t vt_transfer(snd_pcm_ioplug_t *io, const snd_pcm_channel_area_t *areas,
				     snd_pcm_uframes_t offset, snd_pcm_uframes_t size)
{
	if (io->stream == SND_PCM_STREAM_CAPTURE)
		snd_pcm_areas_silence(areas, offset, io->channels, size, io->format);
	return size; /* playback: consumed (discarded) */
}

static int arm(voipdtest_t *v, long ns)
{
	struct itimerspec it = {
		.it_interval = {.tv_sec = ns / 1000000000L, .tv_nsec = ns % 1000000000L},
		.it_value = {.tv_sec = ns / 1000000000L, .tv_nsec = ns % 1000000000L},
	};
	return timerfd_settime(v->tfd, 0, &it, NULL) < 0 ? -errno : 0;
}

static int vt_start(snd_pcm_ioplug_t *io)
{
	voipdtest_t *v = io->private_data;
	clock_gettime(CLOCK_MONOTONIC, &v->start);
	v->elapsed = 0;
	v->running = 1;
	/* Wake four times a period, so rounding at a period boundary costs a
	 * quarter period at most, not a whole one. */
	long ns = (long)((uint64_t)io->period_size * 1000000000ULL / RATE / 4);
	return arm(v, ns > 0 ? ns : 1000000);
}

static int vt_stop(snd_pcm_ioplug_t *io)
{
	voipdtest_t *v = io->private_data;
	v->running = 0;
	return arm(v, 0);
}

static int vt_prepare(snd_pcm_ioplug_t *io)
{
	voipdtest_t *v = io->private_data;
	v->ptr = 0;
	v->running = 0;
	return arm(v, 0);
}

static int vt_poll_revents(snd_pcm_ioplug_t *io, struct pollfd *pfd, unsigned int nfds,
			   unsigned short *revents)
{
	voipdtest_t *v = io->private_data;
	uint64_t expirations;
	(void)nfds;
	*revents = 0;
	if (pfd[0].revents & POLLIN) {
		while (read(v->tfd, &expirations, sizeof expirations) > 0)
			; /* drain: the descriptor is non-blocking */
		*revents = io->stream == SND_PCM_STREAM_PLAYBACK ? POLLOUT : POLLIN;
	}
	*revents |= pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL);
	return 0;
}

static int vt_close(snd_pcm_ioplug_t *io)
{
	voipdtest_t *v = io->private_data;
	close(v->tfd);
	free(v);
	return 0;
}

static const snd_pcm_ioplug_callback_t callbacks = {
	.start = vt_start,
	.stop = vt_stop,
	.pointer = vt_pointer,
	.transfer = vt_transfer,
	.prepare = vt_prepare,
	.close = vt_close,
	.poll_revents = vt_poll_revents,
};

/* failure returns the errno the state directory asks for, or 0. */
static int failure(const char *dir)
{
	static const struct { const char *file; int err; } table[] = {
		{"busy", EBUSY}, {"absent", ENOENT}, {"denied", EACCES},
	};
	char path[PATH_MAX];
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, table[i].file);
		if (access(path, F_OK) == 0)
			return table[i].err;
	}
	return 0;
}

static int set_constraints(snd_pcm_ioplug_t *io)
{
	static const unsigned int access_list[] = {
		SND_PCM_ACCESS_MMAP_INTERLEAVED, SND_PCM_ACCESS_RW_INTERLEAVED,
	};
	static const unsigned int format_list[] = {SND_PCM_FORMAT_S16_LE};
	int err;
	if ((err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_ACCESS, 2, access_list)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_list(io, SND_PCM_IOPLUG_HW_FORMAT, 1, format_list)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_CHANNELS, 1, 1)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_RATE, RATE, RATE)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIOD_BYTES, 64, 1 << 20)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_PERIODS, 2, 64)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(io, SND_PCM_IOPLUG_HW_BUFFER_BYTES, 128, 1 << 21)) < 0)
		return err;
	return 0;
}

SND_PCM_PLUGIN_DEFINE_FUNC(voipdtest)
{
	snd_config_iterator_t i, next;
	const char *state_dir = NULL;
	voipdtest_t *v;
	int err;

	snd_config_for_each(i, next, conf) {
		snd_config_t *n = snd_config_iterator_entry(i);
		const char *id;
		if (snd_config_get_id(n, &id) < 0)
			continue;
		if (!strcmp(id, "comment") || !strcmp(id, "type") || !strcmp(id, "hint"))
			continue;
		if (!strcmp(id, "state_dir")) {
			if (snd_config_get_string(n, &state_dir) < 0) {
				SNDERR("voipdtest: state_dir must be a string");
				return -EINVAL;
			}
			continue;
		}
		SNDERR("voipdtest: unknown field %s", id);
		return -EINVAL;
	}
	if (state_dir == NULL) {
		SNDERR("voipdtest: state_dir is required");
		return -EINVAL;
	}
	if ((err = failure(state_dir)) != 0)
		return -err;

	v = calloc(1, sizeof *v);
	if (v == NULL)
		return -ENOMEM;
	v->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->tfd < 0) {
		err = -errno;
		free(v);
		return err;
	}
	v->io.version = SND_PCM_IOPLUG_VERSION;
	v->io.name = "voipd test PCM";
	v->io.callback = &callbacks;
	v->io.private_data = v;
	v->io.poll_fd = v->tfd;
	v->io.poll_events = POLLIN;
	v->io.mmap_rw = 0;
	v->io.flags = SND_PCM_IOPLUG_FLAG_MONOTONIC;

	if ((err = snd_pcm_ioplug_create(&v->io, name, stream, mode)) < 0) {
		close(v->tfd);
		free(v);
		return err;
	}
	if ((err = set_constraints(&v->io)) < 0) {
		snd_pcm_ioplug_delete(&v->io); /* calls vt_close */
		return err;
	}
	*pcmp = v->io.pcm;
	return 0;
}

SND_PCM_PLUGIN_SYMBOL(voipdtest);
