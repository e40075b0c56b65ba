package daemon

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/daemon/control"
)

// statusRuntime calls status and decodes its runtime object as a client
// sees it on the wire.
func statusRuntime(t *testing.T, d *Daemon) map[string]float64 {
	t.Helper()
	res, err := d.status(context.Background(), &control.Request{Method: "status"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var wire struct{ Runtime map[string]float64 }
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	return wire.Runtime
}

var statusSink [][]byte

func TestStatusRuntime(t *testing.T) {
	d := New(Params{Config: config.Default()})
	first := statusRuntime(t, d)
	for _, k := range []string{"uptimeSeconds", "heapAllocBytes", "heapAllocObjects", "gcCycles", "heapLiveBytes", "mappedBytes", "goroutines", "maxProcs", "timerSlackNs"} {
		if _, ok := first[k]; !ok {
			t.Errorf("status.runtime lacks %s: %v", k, first)
		}
	}
	if got := first["maxProcs"]; got != float64(runtime.GOMAXPROCS(0)) {
		t.Errorf("status.runtime.maxProcs = %v, GOMAXPROCS is %d", got, runtime.GOMAXPROCS(0))
	}
	if got := first["timerSlackNs"]; got != float64(timerSlack()) || (runtime.GOOS == "linux" && got <= 0) {
		t.Errorf("status.runtime.timerSlackNs = %v, the thread's slack is %v", got, timerSlack())
	}
	// heapLiveBytes is 0 until a GC has marked: checked after runtime.GC below.
	for _, k := range []string{"heapAllocBytes", "heapAllocObjects", "mappedBytes", "goroutines"} {
		if first[k] <= 0 {
			t.Errorf("status.runtime.%s = %v, want > 0", k, first[k])
		}
	}

	const n, size = 64, 16 << 10
	for range n {
		statusSink = append(statusSink, make([]byte, size))
	}
	statusSink = nil
	runtime.GC()
	second := statusRuntime(t, d)
	if got := second["heapAllocBytes"] - first["heapAllocBytes"]; got < n*size {
		t.Errorf("heapAllocBytes grew by %v after allocating %d bytes", got, n*size)
	}
	if got := second["heapAllocObjects"] - first["heapAllocObjects"]; got < n {
		t.Errorf("heapAllocObjects grew by %v after %d allocations", got, n)
	}
	if second["gcCycles"] <= first["gcCycles"] {
		t.Errorf("gcCycles %v then %v across runtime.GC", first["gcCycles"], second["gcCycles"])
	}
	if second["heapLiveBytes"] <= 0 {
		t.Errorf("heapLiveBytes = %v after a GC", second["heapLiveBytes"])
	}
	if second["uptimeSeconds"] < first["uptimeSeconds"] {
		t.Errorf("uptime went back: %v then %v", first["uptimeSeconds"], second["uptimeSeconds"])
	}
}

// Reading the runtime's counters reuses one sample slice: a status poll
// costs its JSON, not a rebuilt []metrics.Sample.
func TestRuntimeReadDoesNotAllocate(t *testing.T) {
	if a := testing.AllocsPerRun(100, func() { procRuntime.read() }); a != 0 {
		t.Errorf("read allocates %v times", a)
	}
}
