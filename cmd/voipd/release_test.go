package main

import (
	"debug/elf"
	"os"
	"runtime"
	"strings"
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
// read-only pages gives back a good part of them, and code, read-only data,
// the collector and cgo calls through the dynamic linker's GOT (RELRO,
// which must not be reset to the file's contents) all keep working.
func TestReleaseKeepsTheProcessWorking(t *testing.T) {
	n, err := releaseExecutablePages()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Readlink("/proc/self/exe")
	st, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	if n < st.Size()/4 {
		t.Fatalf("released %d bytes of a %d-byte executable", n, st.Size())
	}
	for range 3 {
		(&releaser{log: quietLogger(t)}).release()
		runtime.GC()
		if v := vp8.Version(); !strings.Contains(v, ".") {
			t.Fatalf("libvpx version %q after the release", v)
		}
		done := make(chan string)
		go func() { done <- strings.Repeat("ok", 2) }()
		if <-done != "okok" {
			t.Fatal("goroutine")
		}
	}
}

// TestReleaserFollowsStates: a state's releases replace the previous
// state's pending ones, and stop cancels them.
func TestReleaserFollowsStates(t *testing.T) {
	r := &releaser{log: quietLogger(t)}
	r.state("inRoom")
	if len(r.timers) != len(releaseDelays["inRoom"]) {
		t.Fatalf("%d timers in a room", len(r.timers))
	}
	r.state("joining")
	if len(r.timers) != 0 {
		t.Fatalf("%d timers while joining", len(r.timers))
	}
	r.state("idle")
	r.stop()
	if len(r.timers) != 0 {
		t.Fatalf("%d timers after stop", len(r.timers))
	}
}
