// Package release gives back the memory voipd stops needing once it has
// started, and once a room has been set up or left (see Releaser). It is
// Linux's: it reads /proc/self/maps and ELF headers.
package release

import (
	"bufio"
	"debug/elf"
	"errors"
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
//   - Its mappings of the read-only pages of its own executable and of its
//     shared libraries. The kernel maps a file's pages around each fault
//     (whole page-cache folios on recent kernels), so after start-up nearly
//     all of voipd's 14 MB of code, read-only data and pclntab counts in its
//     RSS while an idle daemon uses about half; a call touches parts of
//     libvpx, libopus, libc and libstdc++ it then no longer needs. Dropping
//     the mappings (MADV_DONTNEED) keeps the pages in the page cache (other
//     processes sharing a library keep theirs), nothing is re-read from
//     disk, and the pages still in use come back on their next use.
//     Writable segments, RELRO (made read-only after the dynamic linker
//     wrote it) and files with text relocations are never touched: their
//     contents differ from the file.
//
// A release costs a collection of a heap of a few MB, a walk of
// /proc/self/maps and the ELF headers of a dozen files: about a
// millisecond, a few times per call.

// releaseDelays are when, after entering a state, memory is released:
// in a room once media has been set up, again after the first seconds of
// the call (measured: the executable's mapped pages grew from 6.6 to
// 10.2 MB between 2 and 6 s, and stay near 7.4 MB after a later
// release), and once more; when idle again, once.
var releaseDelays = map[string][]time.Duration{
	"idle":   {time.Second},
	"inRoom": {2 * time.Second, 6 * time.Second, 15 * time.Second},
}

// Releaser schedules releases after state changes; a new state cancels
// the previous one's pending releases.
type Releaser struct {
	log    *slog.Logger
	mu     sync.Mutex
	timers []*time.Timer

	releasing sync.Mutex // one release at a time; guards elf
	elf       elfCache
}

// New returns a Releaser that logs to log.
func New(log *slog.Logger) *Releaser { return &Releaser{log: log} }

// State is called with each daemon state ("idle", "inRoom", ...).
func (r *Releaser) State(s string) {
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

// Stop cancels the pending releases.
func (r *Releaser) Stop() { r.State("") }

func (r *Releaser) release() {
	r.releasing.Lock()
	defer r.releasing.Unlock()
	debug.FreeOSMemory()
	if r.elf == nil {
		r.elf = elfCache{}
	}
	exe, libs, err := releaseFilePages(r.elf)
	if err != nil {
		r.log.Debug("mapped file pages kept", "err", err)
		return
	}
	r.log.Debug("memory released", "executableBytes", exe, "libraryBytes", libs)
}

// releaseFilePages drops this process's mappings of the read-only
// segments of every ELF file it maps whole pages of: its executable and
// its shared libraries (libvpx, libc, ...), returning the bytes advised
// away for each. A file is skipped when the one at its path is no longer
// the mapped one (an upgrade replaced it: its headers would describe
// other bytes) and when it has text relocations (the dynamic linker wrote
// into its code, so those pages differ from the file). What each file's
// headers say is kept in cache: a file is parsed once, not at every release
// (parsing a dozen libraries allocates a few hundred KB).
func releaseFilePages(cache elfCache) (exe, libs int64, err error) {
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, 0, err
	}
	maps, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, 0, err
	}
	files, err := fileRegions(maps)
	maps.Close()
	if err != nil {
		return 0, 0, err
	}
	for _, f := range files {
		n, err := releaseFile(f, cache)
		if err != nil {
			if f.path == self {
				return 0, 0, err
			}
			continue // a library we cannot read is simply kept
		}
		if f.path == self {
			exe += n
		} else {
			libs += n
		}
	}
	return exe, libs, nil
}

// elfCache holds, by device and inode, the page ranges a release may drop
// of each mapped file, or why it may drop none.
type elfCache map[fileID]elfInfo

type fileID struct{ dev, inode uint64 }

type elfInfo struct {
	ro  fileRanges
	err error
}

// releaseFile advises away f's mapped read-only pages.
func releaseFile(f mappedFile, cache elfCache) (int64, error) {
	id := fileID{f.dev, f.inode}
	info, ok := cache[id]
	if !ok {
		info = readELF(f)
		cache[id] = info
	}
	if info.err != nil {
		return 0, info.err
	}
	ro := info.ro
	var released int64
	for _, r := range f.regions {
		if strings.Contains(r.perms, "w") || !strings.HasSuffix(r.perms, "p") {
			continue
		}
		for _, fr := range ro.within(r.off, r.off+(r.end-r.start)) {
			start, end := r.start+(fr[0]-r.off), r.start+(fr[1]-r.off)
			if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED); e != 0 {
				return released, fmt.Errorf("madvise %x-%x: %w", start, end, e)
			}
			released += int64(end - start)
		}
	}
	return released, nil
}

// readELF reads the page ranges of f that a release may drop, from the
// file at f's path if it is still the mapped one.
func readELF(f mappedFile) elfInfo {
	var st syscall.Stat_t
	if err := syscall.Stat(f.path, &st); err != nil {
		return elfInfo{err: err}
	}
	if st.Ino != f.inode || uint64(st.Dev) != f.dev {
		return elfInfo{err: fmt.Errorf("%s: not the mapped file any more", f.path)}
	}
	ef, err := elf.Open(f.path)
	if err != nil {
		return elfInfo{err: err}
	}
	defer ef.Close()
	if hasTextRel(ef) {
		return elfInfo{err: fmt.Errorf("%s: text relocations", f.path)}
	}
	return elfInfo{ro: pageRanges(ef.Progs)}
}

// hasTextRel reports whether the dynamic linker relocates inside f's code
// (DT_TEXTREL, or DF_TEXTREL in DT_FLAGS).
func hasTextRel(f *elf.File) bool {
	if v, err := f.DynValue(elf.DT_TEXTREL); err == nil && len(v) > 0 {
		return true
	}
	if v, err := f.DynValue(elf.DT_FLAGS); err == nil {
		for _, x := range v {
			if elf.DynFlag(x)&elf.DF_TEXTREL != 0 {
				return true
			}
		}
	}
	return false
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

// pageRanges are the file ranges of an ELF file's loadable segments that
// are never writable, shrunk to whole pages that no writable segment or
// RELRO reaches into.
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

// mappedFile is a file and its mappings in a /proc/PID/maps listing.
type mappedFile struct {
	path       string
	dev, inode uint64
	regions    []region
}

// fileRegions groups a /proc/PID/maps listing's file mappings by file, in
// order of first appearance. Pseudo-files ([vdso], [heap]) and deleted
// files (" (deleted)" after the path) are left out.
func fileRegions(maps io.Reader) ([]mappedFile, error) {
	var out []mappedFile
	index := map[string]int{}
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) != 6 || !strings.HasPrefix(fl[5], "/") || fl[4] == "0" {
			continue
		}
		lo, hi, ok := strings.Cut(fl[0], "-")
		maj, min, ok2 := strings.Cut(fl[3], ":")
		if !ok || !ok2 {
			return nil, fmt.Errorf("maps line %q", sc.Text())
		}
		s, err1 := strconv.ParseUint(lo, 16, 64)
		e, err2 := strconv.ParseUint(hi, 16, 64)
		o, err3 := strconv.ParseUint(fl[2], 16, 64)
		ino, err4 := strconv.ParseUint(fl[4], 10, 64)
		dmaj, err5 := strconv.ParseUint(maj, 16, 32)
		dmin, err6 := strconv.ParseUint(min, 16, 32)
		if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
			return nil, fmt.Errorf("maps line %q: %w", sc.Text(), err)
		}
		i, seen := index[fl[5]]
		if !seen {
			i = len(out)
			index[fl[5]] = i
			out = append(out, mappedFile{path: fl[5], dev: mkdev(dmaj, dmin), inode: ino})
		}
		out[i].regions = append(out[i].regions, region{start: s, end: e, off: o, perms: fl[1]})
	}
	return out, sc.Err()
}

// mkdev encodes a device number as stat(2) reports it (glibc's makedev).
func mkdev(major, minor uint64) uint64 {
	return (major&0xfff)<<8 | (major&^0xfff)<<32 | minor&0xff | (minor&^0xff)<<12
}
