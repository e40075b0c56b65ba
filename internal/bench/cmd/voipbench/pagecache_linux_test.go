package main

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident counts the file's pages in the page cache (mincore on a map of it).
func resident(t *testing.T, path string, size int) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (size+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// A file just written (its pages cached, and dirty) leaves the page cache
// with coldBinary; on tmpfs, whose pages are the file, it stays, and that
// is no error.
func TestColdBinary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "voipd")
	const size = 1 << 20
	if err := os.WriteFile(path, make([]byte, size), 0o755); err != nil {
		t.Fatal(err)
	}
	pages := size / os.Getpagesize()
	if n := resident(t, path, size); n != pages {
		t.Fatalf("%d of %d pages cached after the write", n, pages)
	}
	if err := coldBinary(path); err != nil {
		t.Fatal(err)
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	want := 0
	if fs.Type == unix.TMPFS_MAGIC {
		want = pages
	}
	if n := resident(t, path, size); n != want {
		t.Errorf("%d of %d pages cached after coldBinary, want %d (filesystem magic %#x)", n, pages, want, fs.Type)
	}
	if err := coldBinary(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing binary is no error")
	}
}
