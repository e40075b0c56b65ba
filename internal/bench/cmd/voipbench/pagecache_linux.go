package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// coldBinary drops the file's pages from the page cache (those no process
// maps; tmpfs keeps its pages, having nowhere else to read them from), so a voipd started next reads its executable as after a reboot.
// A binary the linker has just written sits in the cache in 2 MiB folios,
// which the kernel maps whole (smaps' FilePmdMapped): the same build then
// reads 6-8 MiB more RSS than once its pages come back through readahead,
// enough to move a memory goal. The RSS figures are measured from this
// one state.
func coldBinary(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// Pages not yet written back (a binary linked seconds ago) cannot be
	// dropped: write them first.
	if err := f.Sync(); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
