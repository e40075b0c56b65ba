//go:build !linux

package main

// coldBinary leaves the page cache alone where the bench does not run
// (it measures Linux's /proc); see pagecache_linux.go.
func coldBinary(path string) error { return nil }
