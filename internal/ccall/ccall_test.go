package ccall_test

import (
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/voipd/voipd/internal/ccall"
	"github.com/voipd/voipd/internal/ccall/ccalltest"
	"github.com/voipd/voipd/internal/syscalltrace"
)

func TestCallRunsC(t *testing.T) {
	s := ccalltest.Sum{A: 40, B: 2}
	ccall.Call(ccalltest.Add, unsafe.Pointer(&s))
	if s.Sum != 42 {
		t.Fatalf("sum %d, want 42", s.Sum)
	}
	// An argument block on the goroutine's stack, as the callers' are.
	var local [4]ccalltest.Sum
	for i := range local {
		local[i] = ccalltest.Sum{A: int64(i), B: 100}
		ccall.Call(ccalltest.Add, unsafe.Pointer(&local[i]))
	}
	for i, s := range local {
		if s.Sum != int64(i)+100 {
			t.Errorf("block %d: sum %d, want %d", i, s.Sum, i+100)
		}
	}
}

// TestNoSyscallState is the package's point: a ccall enters no syscall
// state (so it never wakes sysmon); the same C through cgo enters it on
// every call, which proves the trace sees it.
func TestNoSyscallState(t *testing.T) {
	const rounds = 200
	s := ccalltest.Sum{A: 1}
	if n := syscalltrace.Entries(t, func() {
		for range rounds {
			ccall.Call(ccalltest.Add, unsafe.Pointer(&s))
		}
	}); n != 0 {
		t.Errorf("%d syscall-state entries in %d ccalls, want 0", n, rounds)
	}
	if n := syscalltrace.Entries(t, func() {
		for range rounds {
			ccalltest.AddCgo(&s)
		}
	}); n < rounds {
		t.Errorf("%d syscall-state entries in %d cgo calls, want %d: the trace does not show them", n, rounds, rounds)
	}
	if s.Sum != 1 {
		t.Errorf("sum %d", s.Sum)
	}
}

func TestCallAllocsNothing(t *testing.T) {
	s := ccalltest.Sum{A: 1, B: 2}
	if a := testing.AllocsPerRun(100, func() { ccall.Call(ccalltest.Add, unsafe.Pointer(&s)) }); a != 0 {
		t.Errorf("%v allocations per call, want 0", a)
	}
}

// TestDeepStack: the C runs on the thread's own stack, as under cgo, not
// on a goroutine's few kilobytes: 512 KiB of frames (more than libopus or
// WebRTC's audio processing use) from many goroutines on many threads.
func TestDeepStack(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan uint64, 16)
	for range 16 {
		wg.Go(func() {
			s := ccalltest.Stack{Bytes: 512 << 10}
			ccall.Call(ccalltest.Deep, unsafe.Pointer(&s))
			if s.Sum != s.Bytes/4096 {
				errs <- s.Sum
			}
		})
	}
	wg.Wait()
	close(errs)
	for sum := range errs {
		t.Errorf("deep call summed %d, want %d", sum, (512<<10)/4096)
	}
}

// TestCollectorWaitsForCall: a goroutine in a ccall cannot be preempted;
// the collector's stop-the-world waits for the call to end and nothing
// breaks: calls of 2 ms back to back on one goroutine while another runs
// collections and a third allocates.
func TestCollectorWaitsForCall(t *testing.T) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var calls, gcs int
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			b := ccalltest.Busy{NS: int64(2 * time.Millisecond)}
			ccall.Call(ccalltest.Spin, unsafe.Pointer(&b))
			if b.Loops == 0 {
				t.Error("the spin did not loop")
				return
			}
			calls++
		}
	})
	var sink [][]byte
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			sink = append(sink[:0], make([]byte, 64<<10))
		}
	})
	for range 20 {
		runtime.GC()
		gcs++
	}
	close(stop)
	wg.Wait()
	if calls == 0 || gcs != 20 {
		t.Fatalf("%d calls beside %d collections", calls, gcs)
	}
	t.Logf("%d calls of 2 ms beside %d collections", calls, gcs)
}

func BenchmarkCall(b *testing.B) {
	s := ccalltest.Sum{A: 1}
	b.ReportAllocs()
	for b.Loop() {
		ccall.Call(ccalltest.Add, unsafe.Pointer(&s))
	}
}

func BenchmarkCgo(b *testing.B) {
	s := ccalltest.Sum{A: 1}
	b.ReportAllocs()
	for b.Loop() {
		ccalltest.AddCgo(&s)
	}
}
