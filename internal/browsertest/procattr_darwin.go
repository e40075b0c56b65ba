package browsertest

import "syscall"

// dieWithParent does nothing on macOS, which has no parent-death signal: a
// child outlives a test binary that dies without its cleanup (which kills
// it).
func dieWithParent(*syscall.SysProcAttr) {}
