// Package syscalltrace counts, for tests, how often code enters the Go
// runtime's syscall state: each entry after the process went idle wakes
// the runtime's monitor thread, which is what issue 19's efficiency work
// takes out of the media path (internal/rawudp, internal/ccall).
package syscalltrace

import (
	"bytes"
	"runtime"
	"runtime/trace"
	"strings"
	"testing"

	xtrace "golang.org/x/exp/trace"
)

// Entries runs f on a goroutine of its own under an execution trace and
// counts that goroutine's entries into the syscall state (a cgo call, a
// syscall.Syscall; not a RawSyscall nor internal/ccall's calls).
func Entries(t testing.TB, f func()) int {
	t.Helper()
	var out bytes.Buffer
	if err := trace.Start(&out); err != nil {
		t.Fatal(err)
	}
	id := make(chan xtrace.GoID, 1)
	done := make(chan struct{})
	go func() {
		id <- xtrace.GoID(goid())
		f()
		close(done)
	}()
	g := <-id
	<-done
	trace.Stop()
	r, err := xtrace.NewReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		ev, err := r.ReadEvent()
		if err != nil {
			break
		}
		if ev.Kind() != xtrace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != xtrace.ResourceGoroutine || st.Resource.Goroutine() != g {
			continue
		}
		if _, to := st.Goroutine(); to == xtrace.GoSyscall {
			n++
		}
	}
	return n
}

// goid is the calling goroutine's id, from its stack's header line.
func goid() int64 {
	var b [64]byte
	s := strings.TrimPrefix(string(b[:runtime.Stack(b[:], false)]), "goroutine ")
	var id int64
	for _, c := range s {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}
