package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Counters are a Go process's cumulative allocation counters at one
// moment: what runtime/metrics calls /gc/heap/allocs:bytes, the count of
// heap allocations and /gc/cycles/total:gc-cycles.
type Counters struct {
	Seconds     float64 // when, on any clock both readings of a window share
	HeapBytes   float64
	HeapObjects float64
	GCCycles    float64
}

// ParseMemStats reads TotalAlloc, Mallocs and NumGC from the
// runtime.MemStats lines ("# TotalAlloc = 123") that net/http/pprof
// appends to the heap and allocs profiles at debug=1. This is how the
// bench reads the counters of a voipd that predates status.runtime,
// without changing it: its debug.pprof switch was already there.
// TotalAlloc and NumGC are the runtime's same counters as
// /gc/heap/allocs:bytes and /gc/cycles/total:gc-cycles; Mallocs also
// counts each tiny allocation (under 16 bytes, packed into one block),
// which /gc/heap/allocs:objects counts by block.
func ParseMemStats(b []byte) (Counters, error) {
	var c Counters
	want := map[string]*float64{"TotalAlloc": &c.HeapBytes, "Mallocs": &c.HeapObjects, "NumGC": &c.GCCycles}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 4<<20) // stack lines of a big profile
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "# ")
		if !ok {
			continue
		}
		name, val, _ := strings.Cut(rest, " = ")
		dst := want[name]
		if dst == nil {
			continue
		}
		v, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			return c, fmt.Errorf("memstats: %q: %w", sc.Text(), err)
		}
		*dst = float64(v)
		delete(want, name)
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("memstats: %w", err)
	}
	if len(want) > 0 {
		return c, fmt.Errorf("memstats: no %s in the profile", strings.Join(slices.Sorted(maps.Keys(want)), ", "))
	}
	return c, nil
}

// AllocRate is a process's allocation and collection between two readings.
type AllocRate struct {
	Seconds          float64
	MiB              float64 // heap allocated
	MiBPerSecond     float64
	ObjectsPerSecond float64
	Cycles           float64
	CyclesPerMin     float64
}

// RateBetween rates the counters from a to b.
func RateBetween(a, b Counters) AllocRate {
	r := AllocRate{Seconds: b.Seconds - a.Seconds, MiB: (b.HeapBytes - a.HeapBytes) / (1 << 20), Cycles: b.GCCycles - a.GCCycles}
	if r.Seconds > 0 {
		r.MiBPerSecond = r.MiB / r.Seconds
		r.ObjectsPerSecond = (b.HeapObjects - a.HeapObjects) / r.Seconds
		r.CyclesPerMin = r.Cycles * 60 / r.Seconds
	}
	return r
}
