package release

import (
	"debug/elf"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/voipd/voipd/codec/vp8"
)

// TestPageRangesSkipWritableAndRELRO: only whole pages of never-writable
// segments are released; a page shared with RELRO or a writable segment,
// and the partial page at a segment's end, stay.
func TestPageRangesSkipWritableAndRELRO(t *testing.T) {
	progs := []*elf.Prog{
		{ProgHeader: elf.ProgHeader{Type: elf.PT_LOAD, Flags: elf.PF_R, Off: 0, Filesz: 0x2d88}},
		{ProgHeader: elf.ProgHeader{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Off: 0x3000, Filesz: 0x6b6dbd}},
		{ProgHeader: elf.ProgHeader{Type: elf.PT_LOAD, Flags: elf.PF_R, Off: 0x6ba000, Filesz: 0x6e1c10}},
		{ProgHeader: elf.ProgHeader{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Off: 0xd9bc10, Filesz: 0x68131}},
		{ProgHeader: elf.ProgHeader{Type: elf.PT_GNU_RELRO, Flags: elf.PF_R, Off: 0xd9bc10, Filesz: 0x3f0}},
	}
	got := pageRanges(progs)
	want := fileRanges{{0, 0x2000}, {0x3000, 0x6b9000}, {0x6ba000, 0xd9b000}}
	if len(got) != len(want) {
		t.Fatalf("ranges %x, want %x", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("ranges %x, want %x", got, want)
		}
	}
	if w := got.within(0x6b8000, 0x6bc000); len(w) != 2 || w[0] != [2]uint64{0x6b8000, 0x6b9000} || w[1] != [2]uint64{0x6ba000, 0x6bc000} {
		t.Fatalf("within: %x", w)
	}
}

// TestReleaseKeepsTheProcessWorking: releasing this test binary's
// read-only pages and its shared libraries' gives back a good part of the
// executable and some of the libraries, and code, read-only data, the
// collector and cgo calls into libvpx through the dynamic linker's GOT
// (RELRO, which must not be reset to the file's contents) all keep working.
func TestReleaseKeepsTheProcessWorking(t *testing.T) {
	if v := vp8.Version(); !strings.Contains(v, ".") { // libvpx's pages mapped
		t.Fatalf("libvpx version %q", v)
	}
	cache := elfCache{}
	exeBytes, libBytes, err := releaseFilePages(cache)
	if err != nil {
		t.Fatal(err)
	}
	if len(cache) < 3 { // the executable, libc, libvpx at least
		t.Fatalf("%d files' headers kept for the next release", len(cache))
	}
	var first, second runtime.MemStats
	runtime.ReadMemStats(&first)
	if _, _, err := releaseFilePages(cache); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&second)
	// Without the cache a release parses a dozen ELF headers (hundreds of
	// KB); with it, only the maps listing is read.
	if b := second.TotalAlloc - first.TotalAlloc; b > 64<<10 {
		t.Fatalf("a release with the headers cached allocated %d bytes", b)
	}
	exe, _ := os.Readlink("/proc/self/exe")
	st, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	if exeBytes < st.Size()/4 {
		t.Fatalf("released %d bytes of a %d-byte executable", exeBytes, st.Size())
	}
	if libBytes < 1<<20 {
		t.Fatalf("released %d bytes of the shared libraries (libc, libvpx, libopus, ...), want at least 1 MiB", libBytes)
	}
	t.Logf("released %.1f MiB of the executable, %.1f MiB of shared libraries", float64(exeBytes)/(1<<20), float64(libBytes)/(1<<20))
	for range 3 {
		New(quietLogger()).release()
		runtime.GC()
		if v := vp8.Version(); !strings.Contains(v, ".") {
			t.Fatalf("libvpx version %q after the release", v)
		}
		enc, err := vp8.NewEncoder(vp8.EncoderParams{Width: 64, Height: 48})
		if err != nil {
			t.Fatalf("libvpx after the release: %v", err)
		}
		enc.Close()
		done := make(chan string)
		go func() { done <- strings.Repeat("ok", 2) }()
		if <-done != "okok" {
			t.Fatal("goroutine")
		}
	}
}

// TestFileRegions: a maps listing is grouped by file, with device and
// inode; anonymous, pseudo and deleted mappings are left out.
func TestFileRegions(t *testing.T) {
	const maps = `00400000-00403000 r--p 00000000 fd:01 1234 /usr/bin/voipd
00403000-00ac7000 r-xp 00003000 fd:01 1234 /usr/bin/voipd
0121c000-03260000 rw-p 00000000 00:00 0
7f00000000-7f00001000 r--p 00000000 103:02 77 /usr/lib/libvpx.so.7
7f00001000-7f00002000 r-xp 00001000 103:02 77 /usr/lib/libvpx.so.7
7f00003000-7f00004000 r--p 00000000 fd:01 99 /usr/lib/old.so (deleted)
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]
`
	files, err := fileRegions(strings.NewReader(maps))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 || files[0].path != "/usr/bin/voipd" || len(files[0].regions) != 2 ||
		files[1].path != "/usr/lib/libvpx.so.7" || len(files[1].regions) != 2 {
		t.Fatalf("files %+v", files)
	}
	if f := files[1]; f.inode != 77 || f.dev != mkdev(0x103, 2) || f.regions[1] != (region{start: 0x7f00001000, end: 0x7f00002000, off: 0x1000, perms: "r-xp"}) {
		t.Fatalf("libvpx %+v", f)
	}
	if _, err := fileRegions(strings.NewReader("zz-00 r--p 0 fd:01 5 /x\n")); err == nil {
		t.Fatal("a bad line parsed")
	}
}

// TestMkdevMatchesStat: this process's own maps name its executable by the
// device and inode stat(2) gives, so releaseFile recognises the file.
func TestMkdevMatchesStat(t *testing.T) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files, err := fileRegions(f)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Readlink("/proc/self/exe")
	for _, mf := range files {
		if mf.path != exe {
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Stat(exe, &st); err != nil {
			t.Fatal(err)
		}
		if uint64(st.Dev) != mf.dev || st.Ino != mf.inode {
			t.Fatalf("maps says dev %x inode %d, stat %x %d", mf.dev, mf.inode, st.Dev, st.Ino)
		}
		return
	}
	t.Fatalf("the executable %s is not in /proc/self/maps", exe)
}

// TestTextRelocationsAreSeen: a shared object whose code the dynamic linker
// must patch (built here without -fPIC) is recognised and so never
// released; a position-independent one is not.
func TestTextRelocationsAreSeen(t *testing.T) {
	dir := t.TempDir()
	src := dir + "/t.c"
	if err := os.WriteFile(src, []byte("int v = 1;\nint get(void) { return v; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nopic := []string{"-fno-pic", "-shared", "-Wl,-z,notext"}
	if runtime.GOARCH == "amd64" {
		// The default small code model reaches v PC-relatively, which
		// needs no text relocation; the large one loads its absolute address.
		nopic = append(nopic, "-mcmodel=large")
	}
	for _, tc := range []struct {
		flags   []string
		textrel bool
	}{
		{nopic, true},
		{[]string{"-fPIC", "-shared"}, false},
	} {
		so := dir + "/t.so"
		out, err := exec.Command("gcc", append(tc.flags, "-o", so, src)...).CombinedOutput()
		if err != nil {
			t.Fatalf("gcc %v: %v\n%s", tc.flags, err, out)
		}
		f, err := elf.Open(so)
		if err != nil {
			t.Fatal(err)
		}
		got := hasTextRel(f)
		f.Close()
		if got != tc.textrel {
			t.Fatalf("gcc %v: hasTextRel = %v, want %v", tc.flags, got, tc.textrel)
		}
	}
}

// TestReleaserFollowsStates: a state's releases replace the previous
// state's pending ones, and stop cancels them.
func TestReleaserFollowsStates(t *testing.T) {
	r := New(quietLogger())
	r.State("inRoom")
	if len(r.timers) != len(releaseDelays["inRoom"]) {
		t.Fatalf("%d timers in a room", len(r.timers))
	}
	r.State("joining")
	if len(r.timers) != 0 {
		t.Fatalf("%d timers while joining", len(r.timers))
	}
	r.State("idle")
	r.Stop()
	if len(r.timers) != 0 {
		t.Fatalf("%d timers after stop", len(r.timers))
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
