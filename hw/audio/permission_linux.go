package audio

// micAccessNow is always accessAllowed on Linux: it has no per-process
// recording permission, and a device the process may not open fails to
// open with an error kindOf maps to hw.ErrPermission.
func micAccessNow() micAccess { return accessAllowed }
