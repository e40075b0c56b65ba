package main

import (
	"runtime"
	"testing"
)

// runtime.maxProcs sets GOMAXPROCS unless it is 0 (Go's default) or the
// environment sets GOMAXPROCS, which the runtime took at start and wins.
func TestSetMaxProcs(t *testing.T) {
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOMAXPROCS" {
				return v
			}
			return ""
		}
	}
	runtime.GOMAXPROCS(3)
	if got := setMaxProcs(1, env("")); got != 1 {
		t.Errorf("maxProcs 1: GOMAXPROCS %d", got)
	}
	runtime.GOMAXPROCS(3)
	if got := setMaxProcs(1, env("3")); got != 3 {
		t.Errorf("maxProcs 1 with GOMAXPROCS=3 in the environment: %d, want the environment's 3", got)
	}
	if got := setMaxProcs(0, env("")); got != 3 {
		t.Errorf("maxProcs 0: GOMAXPROCS %d, want it left at 3", got)
	}
}
