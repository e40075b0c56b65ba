package main

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Memory voipd stops needing once it has started, and once a room has been
// set up or left, is given back:
//
//   - The Go heap's garbage from start-up and from a join (configuration,
//     SDP, ICE, DTLS, JSON): voipd allocates next to nothing per packet,
//     so the collector would not run again for minutes, and the free pages
//     would wait for the scavenger. One forced collection returns them.
//   - Its mappings of its own executable's read-only pages. The kernel
//     maps a file's pages around each fault (whole page-cache folios on
//     recent kernels), so after start-up nearly all of voipd's 14 MB of
//     code, read-only data and pclntab counts in its RSS while an idle
//     daemon uses about half. Dropping the mappings (MADV_DONTNEED) keeps
//     the pages in the page cache, nothing is re-read from disk, and the
//     pages still in use come back on their next use. Writable segments and
//     RELRO (made read-only after the dynamic linker wrote it) are never
//     touched: their contents differ from the file.
//
// A release costs a collection of a heap of a few MB and a walk of
// /proc/self/maps: about a millisecond, a few times per call.

// releaseDelays are when, after entering a state, memory is released:
// in a room once media has been set up, again after the first seconds of
// the call (measured: the executable's mapped pages grew from 6.6 to
// 10.2 MB between 2 and 6 s, and stay near 7.4 MB after a later
// release), and once more; when idle again, once.
var releaseDelays = map[string][]time.Duration{
	"idle":   {time.Second},
	"inRoom": {2 * time.Second, 6 * time.Second, 15 * time.Second},
}

// releaser schedules releases after state changes; a new state cancels
// the previous one's pending releases.
type releaser struct {
	log    *slog.Logger
	mu     sync.Mutex
	timers []*time.Timer
}

// state is called with each daemon state (the notifier's status).
func (r *releaser) state(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.timers {
		t.Stop()
	}
	r.timers = r.timers[:0]
	for _, d := range releaseDelays[s] {
		r.timers = append(r.timers, time.AfterFunc(d, r.release))
	}
}

func (r *releaser) stop() { r.state("") }

func (r *releaser) release() {
	debug.FreeOSMemory()
	n, err := releaseExecutablePages()
	if err != nil {
		r.log.Debug("executable pages kept", "err", err)
		return
	}
	r.log.Debug("memory released", "executableBytes", n)
}

// releaseExecutablePages drops this process's mappings of its
// executable's read-only segments, returning the bytes advised away.
func releaseExecutablePages() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	ro, err := readOnlyFileRanges(exe)
	if err != nil {
		return 0, err
	}
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer maps.Close()
	regions, err := exeRegions(maps, exe)
	if err != nil {
		return 0, err
	}
	var released int64
	for _, r := range regions {
		if strings.Contains(r.perms, "w") {
			continue
		}
		for _, f := range ro.within(r.off, r.off+(r.end-r.start)) {
			start, end := r.start+(f[0]-r.off), r.start+(f[1]-r.off)
			if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); e != 0 {
				return released, fmt.Errorf("madvise %x-%x: %w", start, end, e)
			}
			released += int64(end - start)
		}
	}
	return released, nil
}

// fileRanges are [from, to) byte ranges of a file.
type fileRanges [][2]uint64

// within is the parts of fr inside [from, to).
func (fr fileRanges) within(from, to uint64) fileRanges {
	var out fileRanges
	for _, r := range fr {
		if lo, hi := max(from, r[0]), min(to, r[1]); lo < hi {
			out = append(out, [2]uint64{lo, hi})
		}
	}
	return out
}

// readOnlyFileRanges are the file ranges of exe's loadable segments that
// are never writable, shrunk to whole pages that no writable segment or
// RELRO reaches into.
func readOnlyFileRanges(exe string) (fileRanges, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return pageRanges(f.Progs), nil
}

func pageRanges(progs []*elf.Prog) fileRanges {
	var ro, rw fileRanges
	for _, p := range progs {
		switch {
		case p.Type == elf.PT_LOAD && p.Flags&elf.PF_W == 0:
			ro = append(ro, [2]uint64{p.Off, p.Off + p.Filesz})
		case p.Type == elf.PT_LOAD || p.Type == elf.PT_GNU_RELRO:
			rw = append(rw, [2]uint64{p.Off, p.Off + p.Filesz})
		}
	}
	const page = 4096
	var out fileRanges
	for _, r := range ro {
		from, to := (r[0]+page-1)&^(page-1), r[1]&^(page-1)
		for _, w := range rw {
			wf, wt := w[0]&^(page-1), (w[1]+page-1)&^(page-1)
			if wf < to && wt > from {
				if wf <= from {
					from = max(from, wt)
				} else {
					to = min(to, wf)
				}
			}
		}
		if from < to {
			out = append(out, [2]uint64{from, to})
		}
	}
	return out
}

// region is one line of /proc/self/maps.
type region struct {
	start, end, off uint64
	perms           string
}

// exeRegions are the mappings of exe in a /proc/PID/maps listing.
func exeRegions(maps io.Reader, exe string) ([]region, error) {
	var out []region
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 6 || fl[5] != exe {
			continue
		}
		lo, hi, ok := strings.Cut(fl[0], "-")
		if !ok {
			continue
		}
		s, err1 := strconv.ParseUint(lo, 16, 64)
		e, err2 := strconv.ParseUint(hi, 16, 64)
		o, err3 := strconv.ParseUint(fl[2], 16, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("maps line %q", sc.Text())
		}
		out = append(out, region{start: s, end: e, off: o, perms: fl[1]})
	}
	return out, sc.Err()
}
