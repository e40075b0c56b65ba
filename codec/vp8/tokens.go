package vp8

// #include "vpx.h"
import "C"

import (
	"bytes"
	"os"
	"strconv"
	"sync"
)

// libvpx's VP8 encoder keeps a token buffer sized for the worst case: 384
// tokens (16 coefficients × 24 blocks) for every macroblock, 16 bytes each
// on 64-bit, 7 MiB at 640x480 and 21 MiB at 1280x720. It allocates it with
// vpx_calloc, which clears every byte, so all of it is resident from the
// encoder's creation, although a realtime frame writes the first few pages
// of each macroblock row's share. Measured here at 640x480: 0.8 MiB of
// the 7 MiB written in a 30 s call with the pattern camera, 1.4 MiB with
// codectest's pattern, 3.9 MiB on noise with a keyframe every 3 s; the
// buffer had been a third of voipd's RSS in a call.
//
// So NewEncoder gives those pages back: it finds the buffer among the
// memory the encoder's creation mapped, by glibc's header of an mmapped
// chunk of the buffer's size, and releases with MADV_DONTNEED the chunk's
// pages that are still all zeros. A released private anonymous page reads
// back as zeros, so the encoder cannot tell (a test compares bitstreams);
// the pages it then writes come back one by one. Anything that does not
// match (another C library, a libvpx with another layout) is left alone.
// Only memory mapped during the creation is searched, and creations are
// serialised, so no other encoder's buffer can be mid-write.

// creating serialises encoder creation with its release pass.
var creating sync.Mutex

var mallocSetup sync.Once

// span is a range of the process's address space, [lo, hi).
type span struct{ lo, hi uintptr }

// writableAnon lists the process's private, writable, anonymous mappings
// from /proc/self/maps (Linux), in address order.
func writableAnon() ([]span, error) {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	var out []span
	for line := range bytes.Lines(b) {
		// lo-hi perms offset dev inode [path]
		f := bytes.Fields(line)
		if len(f) != 5 || !bytes.HasPrefix(f[1], []byte("rw")) || len(f[1]) < 4 || f[1][3] != 'p' {
			continue // named (a file, [heap], [stack]), read-only or shared
		}
		lo, hi, ok := bytes.Cut(f[0], []byte("-"))
		if !ok {
			continue
		}
		l, err1 := strconv.ParseUint(string(lo), 16, 64)
		h, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || h <= l {
			continue
		}
		out = append(out, span{uintptr(l), uintptr(h)})
	}
	return out, nil
}

// fresh returns the parts of after that overlap nothing in before.
func fresh(before, after []span) []span {
	var out []span
	for _, a := range after {
		parts := []span{a}
		for _, b := range before {
			var next []span
			for _, p := range parts {
				if b.hi <= p.lo || b.lo >= p.hi {
					next = append(next, p)
					continue
				}
				if p.lo < b.lo {
					next = append(next, span{p.lo, b.lo})
				}
				if b.hi < p.hi {
					next = append(next, span{b.hi, p.hi})
				}
			}
			parts = next
		}
		out = append(out, parts...)
	}
	return out
}

// tokenBufferBounds is the range of chunk sizes that can be the token
// buffer of a w×h encoder: 384 tokens a macroblock, 8 to 32 bytes a token
// (16 in libvpx ≥ 1.4 on 64-bit, 8 on 32-bit, 24 before), plus glibc's and
// vpx_memalign's few bytes, page-rounded.
func tokenBufferBounds(w, h int) (lo, hi int) {
	tokens := ((w + 15) / 16) * ((h + 15) / 16) * 24 * 16
	return tokens * 8, tokens*32 + 4*os.Getpagesize()
}

// releaseTokenPages gives back the zero pages of the token buffer that
// appeared between the two snapshots; it returns the bytes released and
// where they start.
func releaseTokenPages(before []span, w, h int) (n int, at uintptr) {
	after, err := writableAnon()
	if err != nil {
		return 0, 0
	}
	lo, hi := tokenBufferBounds(w, h)
	for _, s := range fresh(before, after) {
		var first C.uintptr_t
		r := int(C.vp8_release_zero_chunks(C.uintptr_t(s.lo), C.uintptr_t(s.hi), C.size_t(lo), C.size_t(hi), &first))
		if r > 0 && n == 0 {
			at = uintptr(first)
		}
		n += r
	}
	return n, at
}

// residentPages counts the pages of [lo, hi) in memory (mincore), or -1.
func residentPages(lo, hi uintptr) int {
	n := C.vp8_resident_pages(C.uintptr_t(lo), C.uintptr_t(hi))
	if n == ^C.size_t(0) {
		return -1
	}
	return int(n)
}
