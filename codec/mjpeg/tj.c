// C helpers for package mjpeg: TurboJPEG calls whose pointer arguments
// cgo cannot pass from Go without allocating or breaking its pointer rules.
#include "tj.h"

// The header is read in C so its out-parameters live on the C stack: Go
// pointers to Go locals would make them escape to the heap on every frame.
mj_header mj_read_header(tjhandle h, const unsigned char *buf, unsigned long n) {
	mj_header r = {0, 0, 0, 0};
	int cs = 0;
	r.rc = tjDecompressHeader3(h, buf, n, &r.w, &r.h, &r.subsamp, &cs);
	return r;
}

// TurboJPEG takes arrays of plane pointers; cgo forbids passing Go memory
// that holds Go pointers, so the arrays are built here from plain arguments.
int mj_decode_planes(tjhandle h, const unsigned char *buf, unsigned long n,
		unsigned char *y, int ys, unsigned char *u, int us, unsigned char *v, int vs, int w, int hh) {
	unsigned char *planes[3] = {y, u, v};
	int strides[3] = {ys, us, vs};
	return tjDecompressToYUVPlanes(h, buf, n, planes, w, strides, hh, TJFLAG_FASTDCT);
}

long mj_encode_planes(tjhandle h, const unsigned char *y, int ys, const unsigned char *u, int us,
		const unsigned char *v, int vs, int w, int hh, int subsamp, unsigned char *dst, unsigned long cap, int quality) {
	const unsigned char *planes[3] = {y, u, v};
	int strides[3] = {ys, us, vs};
	unsigned long size = cap;
	// NOREALLOC: write into the caller's buffer or fail, never malloc.
	int rc = tjCompressFromYUVPlanes(h, planes, w, strides, hh, subsamp, &dst, &size, quality, TJFLAG_NOREALLOC);
	return rc < 0 ? -1 : (long)size;
}
