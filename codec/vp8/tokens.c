// Giving back the pages of libvpx's token buffer that it cleared but has
// not used; see tokens.go for why and how the buffer is found.
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "vpx.h"

void vp8_malloc_setup(void) {
#ifdef __GLIBC__
	// Setting the threshold turns off glibc's dynamic one, which rises to
	// the size of the largest mmapped chunk freed (up to 32 MiB): after the
	// first encoder closed, the next one's buffers would come from the
	// malloc heap, stay there after it closed too, and the token buffer
	// would no longer be a chunk of its own. 128 KiB is glibc's default.
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

// glibc's header of an mmapped chunk, at the start of its first page: the
// previous size (0: the chunk starts its mapping) and the chunk's size,
// page-rounded, with IS_MMAPPED (2) set and the other flag bits clear.
#define CHUNK_IS_MMAPPED 2
#define CHUNK_FLAGS 7

size_t vp8_release_zero_chunks(uintptr_t lo, uintptr_t hi, size_t min, size_t max, uintptr_t *first) {
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t released = 0;
	for (uintptr_t p = lo; p + page <= hi; p += page) {
		const size_t *h = (const size_t *)p;
		size_t sz = h[1] & ~(size_t)CHUNK_FLAGS;
		if (h[0] != 0 || (h[1] & CHUNK_FLAGS) != CHUNK_IS_MMAPPED || sz < min || sz > max ||
		    sz % page != 0 || sz > hi - p)
			continue;
		// The chunk's whole pages after its first (which holds the header
		// and the start of the data), released only if every byte is zero:
		// a released private anonymous page reads back as zeros, so nothing
		// that reads this memory can tell.
		const uint64_t *q = (const uint64_t *)(p + page), *end = (const uint64_t *)(p + sz);
		while (q < end && *q == 0) q++;
		if (q != end) continue;
		if (madvise((void *)(p + page), sz - page, MADV_DONTNEED) != 0) continue;
		if (released == 0 && first != NULL) *first = p + page;
		released += sz - page;
		p += sz - page; // the loop's step moves past the chunk
	}
	return released;
}

size_t vp8_resident_pages(uintptr_t lo, uintptr_t hi) {
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t n = 0;
	unsigned char vec[256];
	for (uintptr_t p = lo; p < hi; p += sizeof vec * page) {
		size_t len = hi - p < sizeof vec * page ? hi - p : sizeof vec * page;
		if (mincore((void *)p, len, vec) != 0) return (size_t)-1;
		for (size_t i = 0; i < (len + page - 1) / page; i++) n += vec[i] & 1;
	}
	return n;
}
