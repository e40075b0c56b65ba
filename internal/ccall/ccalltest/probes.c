#include <stdint.h>
#include <string.h>
#include <time.h>
#include "probes.h"

void voipd_ccall_add(void *p) {
	voipd_ccall_sum *s = p;
	s->sum = s->a + s->b;
}

// Uses about s->bytes of stack, as a codec's deep frames would.
void voipd_ccall_deep(void *p) {
	voipd_ccall_stack *s = p;
	volatile unsigned char buf[s->bytes];
	memset((void *)buf, 1, s->bytes);
	uint64_t sum = 0;
	for (uint64_t i = 0; i < s->bytes; i += 4096) {
		sum += buf[i];
	}
	s->sum = sum;
}

static int64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void voipd_ccall_spin(void *p) {
	voipd_ccall_busy *b = p;
	int64_t end = now_ns() + b->ns;
	while (now_ns() < end) {
		b->loops++;
	}
}
