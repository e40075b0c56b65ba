package janus

import (
	"math"
	"os"
	"strings"
	"testing"
)

func TestParseStatTicks(t *testing.T) {
	cases := []struct {
		name string
		stat string
		want uint64
	}{
		{"plain", "1234 (roomd) S 1 1234 1234 0 -1 4194560 9000 0 12 0 250 75 0 0 20 0 9 0 5000 1000000 2000 18446744073709551615",
			325},
		// A command name with spaces and parentheses must not shift the fields.
		{"odd name", "77 (my (odd) name) R 1 77 77 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 100 0 0", 3},
	}
	for _, c := range cases {
		got, err := ParseStatTicks([]byte(c.stat))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: utime+stime = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestParseStatTicksRejects(t *testing.T) {
	for _, bad := range []string{
		"",                    // nothing
		"1 roomd S 1 2 3",     // no parentheses
		"1 (roomd) S 1 2 3 4", // too short
		"1 (roomd) S 1 1 1 0 -1 0 0 0 0 0 x 2 0 0", // utime not a number
	} {
		if _, err := ParseStatTicks([]byte(bad)); err == nil {
			t.Errorf("ParseStatTicks(%q) succeeded, want an error", bad)
		}
	}
}

func TestReadCPUTicksSelf(t *testing.T) {
	// This process's own stat file parses; its value is whatever it is.
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatalf("no /proc: %v", err)
	}
	if _, err := ParseStatTicks(b); err != nil {
		t.Fatalf("parsing /proc/self/stat: %v", err)
	}
	if _, err := ReadCPUTicks(0); err != nil {
		t.Fatal(err)
	}
}

func TestPointFigures(t *testing.T) {
	p := Point{N: 10, ServerCPU: 0.05, Sent: 1000, Received: 9500}
	if p.Streams() != 20 {
		t.Errorf("Streams = %d, want 20", p.Streams())
	}
	// 5 % of a core over 20 streams: 50 000 µs/s ÷ 20.
	if got := p.MicrosPerStream(); math.Abs(got-2500) > 1e-9 {
		t.Errorf("MicrosPerStream = %v, want 2500", got)
	}
	if got := p.Delivered(); math.Abs(got-0.95) > 1e-12 {
		t.Errorf("Delivered = %v, want 0.95", got)
	}
	if (Point{}).MicrosPerStream() != 0 || (Point{N: 3}).Delivered() != 0 {
		t.Error("an empty point should give zeros, not NaN or Inf")
	}
}

func TestFitExtrapolates(t *testing.T) {
	// CPU = 0.02 + 0.004 N exactly: 0.8 is reached at N = 195.
	var ps []Point
	for _, n := range []int{5, 10, 20, 40} {
		ps = append(ps, Point{N: n, ServerCPU: 0.02 + 0.004*float64(n)})
	}
	f := FitPoints(ps)
	if !f.OK {
		t.Fatal("fit not OK")
	}
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
	if !near(f.Fixed, 0.02) || !near(f.PerSubscriber, 0.004) {
		t.Errorf("fit = %+v, want fixed 0.02, 0.004 per subscriber", f)
	}
	if got := f.NAt(0.8); !near(got, 195) {
		t.Errorf("N at 80 %% = %v, want 195", got)
	}
	// 0.004 cores per subscriber is 2000 µs/s per stream, 500 streams per core.
	if got := f.MicrosPerStream(); !near(got, 2000) {
		t.Errorf("marginal µs/s per stream = %v, want 2000", got)
	}
	if got := f.StreamsPerCore(); !near(got, 500) {
		t.Errorf("streams per core = %v, want 500", got)
	}
}

func TestFitNoisyAndDegenerate(t *testing.T) {
	// Least squares through (1, 0.1), (2, 0.3), (3, 0.2): slope 0.05, fixed 0.1.
	f := FitPoints([]Point{{N: 1, ServerCPU: 0.1}, {N: 2, ServerCPU: 0.3}, {N: 3, ServerCPU: 0.2}})
	if math.Abs(f.PerSubscriber-0.05) > 1e-12 || math.Abs(f.Fixed-0.1) > 1e-12 {
		t.Errorf("fit = %+v, want slope 0.05, fixed 0.1", f)
	}
	for name, ps := range map[string][]Point{
		"none":      nil,
		"one point": {{N: 5, ServerCPU: 0.1}},
		"same N":    {{N: 5, ServerCPU: 0.1}, {N: 5, ServerCPU: 0.2}},
		"falling":   {{N: 5, ServerCPU: 0.2}, {N: 10, ServerCPU: 0.1}},
	} {
		f := FitPoints(ps)
		if f.OK {
			t.Errorf("%s: fit OK, want not", name)
		}
		if !math.IsNaN(f.NAt(0.8)) || !math.IsNaN(f.StreamsPerCore()) {
			t.Errorf("%s: extrapolations should be NaN without a fit", name)
		}
	}
}

func TestReportFormatsDelivered(t *testing.T) {
	// A server that drops half the packets shows it in its column.
	var b strings.Builder
	err := Report(&b, Run{Window: 10}, []Point{{N: 5, ServerCPU: 0.01, Sent: 100, Received: 250}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "| 5 | 10 | 1.0 % | 1000 | 50.0 % | — | — | — | — |") {
		t.Errorf("row not as expected:\n%s", b.String())
	}
}
