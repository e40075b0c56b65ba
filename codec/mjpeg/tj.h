// C helpers for the Go side of package mjpeg (tj.c).
#ifndef VOIPD_MJPEG_TJ_H
#define VOIPD_MJPEG_TJ_H
#include <turbojpeg.h>

typedef struct { int w, h, subsamp, rc; } mj_header;

mj_header mj_read_header(tjhandle h, const unsigned char *buf, unsigned long n);
int mj_decode_planes(tjhandle h, const unsigned char *buf, unsigned long n,
		unsigned char *y, int ys, unsigned char *u, int us, unsigned char *v, int vs, int w, int hh);
long mj_encode_planes(tjhandle h, const unsigned char *y, int ys, const unsigned char *u, int us,
		const unsigned char *v, int vs, int w, int hh, int subsamp, unsigned char *dst, unsigned long cap, int quality);
#endif
