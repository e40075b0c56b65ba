#include "callbacks.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

// The first fields of miniaudio's ma_device (miniaudio.h, struct
// ma_device), as malgo v0.11 builds it: enough to find the data callback
// and the user pointer. attach checks them against what malgo set before
// writing anything.
typedef struct {
	void *pContext;
	int type;           // ma_device_type: 1 playback, 2 capture
	uint32_t sampleRate;
	int state;          // ma_atomic_device_state: one 4-byte enum
	void (*onData)(void *pDevice, void *pOutput, const void *pInput, uint32_t frameCount);
	void (*onNotification)(const void *pNotification);
	void (*onStop)(void *pDevice);
	void *pUserData;
} voipd_ma_device_head;

// malgo's stop callback: what onStop holds after malgo.InitDevice (its data
// callback is a static wrapper, so onStop is the field checked).
extern void goStopCallback(void *pDevice);

static int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// voipd_late_observe_at counts a callback carrying frames frames that
// came at now (ns, monotonic).
void voipd_late_observe_at(voipd_late *l, int64_t now, uint64_t frames) {
	if (__atomic_add_fetch(&l->count, 1, __ATOMIC_RELAXED) > 1) {
		int64_t d = now - l->prev_ns - l->prev_dur_ns;
		if (d > 0) {
			if (d > __atomic_load_n(&l->worst_ns, __ATOMIC_RELAXED)) {
				__atomic_store_n(&l->worst_ns, d, __ATOMIC_RELAXED);
			}
			if (d > l->period_ns) {
				__atomic_add_fetch(&l->late, 1, __ATOMIC_RELAXED);
			}
		}
	}
	l->prev_ns = now;
	l->prev_dur_ns = (int64_t)frames * 1000000000 / 48000;
}

static void observe(voipd_late *l, uint64_t frames) { voipd_late_observe_at(l, now_ns(), frames); }

static void wake(int fd) {
	uint64_t one = 1;
	ssize_t unused = write(fd, &one, sizeof one);
	(void)unused;
}

// attach makes the opened (not yet started) device call data with user
// instead of malgo's Go callback. It returns 0, or -1 when the device does
// not look like what malgo made (another miniaudio layout): then nothing
// was written.
static int attach(void *pDevice, int type, uint32_t sampleRate, void *user,
		void (*data)(void *, void *, const void *, uint32_t)) {
	voipd_ma_device_head *d = pDevice;
	if (d->sampleRate != sampleRate || d->type != type || d->onData == NULL || d->onStop != (void *)goStopCallback) {
		return -1;
	}
	d->pUserData = user;
	__atomic_store_n(&d->onData, data, __ATOMIC_RELEASE);
	return 0;
}

// ring_read copies n samples out of a ring of size samples from position
// r (samples since open), wrapping.
static void ring_read(const int16_t *buf, uint64_t size, uint64_t r, int16_t *dst, uint64_t n) {
	while (n > 0) {
		uint64_t i = r % size;
		uint64_t k = size - i < n ? size - i : n;
		memcpy(dst, buf + i, k * sizeof(int16_t));
		dst += k;
		n -= k;
		r += k;
	}
}

// voipd_speaker_fill plays what is queued into out (n samples) and silence
// for the rest, then wakes the writer if the ring now has the room it
// waits for. It never blocks.
//
// The writer stores want and then reads r; the callback stores r and then
// reads want, both sequentially consistent: one of them sees the other's
// store, so a writer never sleeps through the room it waits for.
void voipd_speaker_fill(voipd_speaker *s, int16_t *out, uint64_t n) {
	observe(&s->late, n / s->channels);
	uint64_t r = s->r;
	uint64_t w = __atomic_load_n(&s->w, __ATOMIC_ACQUIRE);
	uint64_t take = w - r < n ? w - r : n;
	ring_read(s->buf, s->size, r, out, take);
	__atomic_store_n(&s->r, r + take, __ATOMIC_SEQ_CST);
	if (take < n) {
		memset(out + take, 0, (n - take) * sizeof(int16_t));
		if (__atomic_load_n(&s->started, __ATOMIC_ACQUIRE)) {
			__atomic_add_fetch(&s->underruns, 1, __ATOMIC_RELAXED);
		}
	}
	__atomic_add_fetch(&s->samples, n, __ATOMIC_RELEASE);
	if (s->size - (w - (r + take)) >= __atomic_load_n(&s->want, __ATOMIC_SEQ_CST)) {
		wake(s->wake);
	}
}

static void speaker_data(void *pDevice, void *pOutput, const void *pInput, uint32_t frameCount) {
	(void)pInput;
	voipd_speaker *s = ((voipd_ma_device_head *)pDevice)->pUserData;
	if (s != NULL && pOutput != NULL) {
		voipd_speaker_fill(s, pOutput, (uint64_t)frameCount * s->channels);
	}
}

int voipd_speaker_attach(void *pDevice, voipd_speaker *s, uint32_t sampleRate) {
	return attach(pDevice, 1, sampleRate, s, speaker_data);
}

// copy_in writes n samples at w, wrapping; the caller holds mu and made room.
static void copy_in(voipd_mic *m, const int16_t *in, uint64_t n) {
	while (n > 0) {
		uint64_t i = m->w % m->size;
		uint64_t k = m->size - i < n ? m->size - i : n;
		memcpy(m->buf + i, in, k * sizeof(int16_t));
		in += k;
		n -= k;
		m->w += k;
	}
}

// voipd_mic_put copies in (n samples) into the ring. When it does not fit,
// the oldest whole frames are dropped to make room, so the reader stays
// frame-aligned; it returns how many frames it dropped.
uint64_t voipd_mic_put(voipd_mic *m, const int16_t *in, uint64_t n) {
	uint64_t dropped = 0;
	pthread_mutex_lock(&m->mu);
	if (n > m->size) { // only the newest ring-full can survive
		uint64_t skip = n - m->size;
		uint64_t lost = m->w - m->r + skip;
		dropped += (lost + m->frame - 1) / m->frame;
		in += skip;
		n -= skip;
		m->w += skip;
		m->r = m->w;
	}
	uint64_t used = m->w - m->r;
	if (used + n > m->size) {
		uint64_t over = used + n - m->size;
		uint64_t frames = (over + m->frame - 1) / m->frame;
		m->r += frames * m->frame;
		if (m->r > m->w) {
			m->r = m->w;
		}
		dropped += frames;
	}
	copy_in(m, in, n);
	pthread_mutex_unlock(&m->mu);
	return dropped;
}

// voipd_mic_get fills all of dst (n samples) if that many are buffered and
// returns 1, else 0.
int voipd_mic_get(voipd_mic *m, int16_t *dst, uint64_t n) {
	pthread_mutex_lock(&m->mu);
	if (m->w - m->r < n) {
		pthread_mutex_unlock(&m->mu);
		return 0;
	}
	ring_read(m->buf, m->size, m->r, dst, n);
	m->r += n;
	pthread_mutex_unlock(&m->mu);
	return 1;
}

uint64_t voipd_mic_buffered(voipd_mic *m) {
	pthread_mutex_lock(&m->mu);
	uint64_t n = m->w - m->r;
	pthread_mutex_unlock(&m->mu);
	return n;
}

void voipd_mic_get_short(void *p) {
	voipd_mic_short *a = p;
	a->ret = a->dst ? (uint64_t)voipd_mic_get(a->m, a->dst, a->n) : voipd_mic_buffered(a->m);
}

// voipd_mic_deliver is the callback's work: count, put, wake the reader.
void voipd_mic_deliver(voipd_mic *m, const int16_t *in, uint64_t n) {
	observe(&m->late, n / m->channels);
	uint64_t d = voipd_mic_put(m, in, n);
	if (d > 0) {
		__atomic_add_fetch(&m->dropped, d, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&m->samples, n, __ATOMIC_RELEASE);
	wake(m->wake);
}

static void mic_data(void *pDevice, void *pOutput, const void *pInput, uint32_t frameCount) {
	(void)pOutput;
	voipd_mic *m = ((voipd_ma_device_head *)pDevice)->pUserData;
	if (m != NULL && pInput != NULL) {
		voipd_mic_deliver(m, pInput, (uint64_t)frameCount * m->channels);
	}
}

int voipd_mic_attach(void *pDevice, voipd_mic *m, uint32_t sampleRate) {
	return attach(pDevice, 2, sampleRate, m, mic_data);
}

// voipd_wake_open makes the fd pair a callback wakes Go with: an eventfd
// (one fd, a counter never drained: no syscall on Go's side) where there is
// one, else a pipe that the waiter drains.
int voipd_wake_open(int fds[2]) {
#ifdef __linux__
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0) {
		return errno;
	}
	fds[0] = fds[1] = fd;
	return 0;
#else
	if (pipe(fds) != 0) {
		return errno;
	}
	for (int i = 0; i < 2; i++) {
		fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
		fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	}
	return 0;
#endif
}
