package janus

import (
	"strings"
	"testing"
)

// line returns the report's line starting with prefix, or fails.
func line(t *testing.T, report, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no line starting %q in:\n%s", prefix, report)
	return ""
}

func points(server string, fixed, perSub float64, ns ...int) []Point {
	var ps []Point
	for _, n := range ns {
		ps = append(ps, Point{Server: server, N: n, ServerCPU: fixed + perSub*float64(n),
			GenCPU: 0.01 * float64(n), Sent: 1000, Received: 1000 * uint64(n)})
	}
	return ps
}

func TestReportSideBySide(t *testing.T) {
	// roomd: 0.002 cores per subscriber (1000 µs/s per stream, 1000 streams
	// per core) and 1 % fixed; Janus twice that per subscriber, none fixed.
	roomd := points("roomd", 0.01, 0.002, 5, 10, 20, 40)
	janus := points("Janus", 0, 0.004, 5, 10, 20, 40)
	livekit := points("LiveKit", 0.04, 0.008, 5, 10, 20, 40) // 4000 µs/s per stream, 4 % fixed
	var b strings.Builder
	if err := Report(&b, Run{When: "2026-01-02T03:04Z", Machine: "2 cores, test CPU", Versions: "go test",
		Window: 10, Target: 0.8}, roomd, janus, livekit); err != nil {
		t.Fatal(err)
	}
	r := b.String()
	if !strings.HasPrefix(r, "### roomd vs Janus VideoRoom") {
		t.Errorf("the section should open with its ### heading:\n%s", r)
	}
	if !strings.Contains(r, "2026-01-02T03:04Z, 2 cores, test CPU, go test") {
		t.Errorf("run description missing:\n%s", r)
	}
	// N=10: roomd 3 % (1500 µs/s per stream), Janus 4 % (2000), LiveKit
	// 12 % (6000); ratios 0.75 and 0.25.
	if got, want := line(t, r, "| 10 |"), "| 10 | 20 | 3.0 % | 1500 | 100.0 % | 4.0 % | 2000 | 100.0 % | 12.0 % | 6000 | 100.0 % | 0.75× | 0.25× |"; got != want {
		t.Errorf("N=10 row:\n got %s\nwant %s", got, want)
	}
	if got, want := line(t, r, "| marginal"), "| marginal µs/s per stream | 1000 | 2000 | 4000 |"; got != want {
		t.Errorf("marginal row:\n got %s\nwant %s", got, want)
	}
	// (0.8 - 0.01) / 0.002 = 395; 0.8 / 0.004 = 200; (0.8 - 0.04) / 0.008 = 95.
	if got, want := line(t, r, "| N at 80 %"), "| N at 80 % of one core (extrapolated) | 395 | 200 | 95 |"; got != want {
		t.Errorf("N at 80 %% row:\n got %s\nwant %s", got, want)
	}
	if got, want := line(t, r, "| forwarded streams per core"), "| forwarded streams per core (marginal) | 1000 | 500 | 250 |"; got != want {
		t.Errorf("streams per core row:\n got %s\nwant %s", got, want)
	}
	if got := line(t, r, "Beside LiveKit"); !strings.Contains(got, "0.25× LiveKit's") {
		t.Errorf("LiveKit line: %s", got)
	}
	if got, want := line(t, r, "| load generator"), "| load generator's CPU, highest window (core 0) | 40.0 % | 40.0 % | 40.0 % |"; got != want {
		t.Errorf("generator row:\n got %s\nwant %s", got, want)
	}
	if got := line(t, r, "Goals:"); !strings.Contains(got, "≥ 500 forwarded streams per core: met (1000)") ||
		!strings.Contains(got, "CPU per stream ≤ Janus's: met (0.50× Janus's marginal cost)") {
		t.Errorf("goals line: %s", got)
	}
	if !strings.Contains(r, "taskset -c 1") || !strings.Contains(r, "/proc/PID/stat") {
		t.Errorf("the isolation paragraph should say how: %s", r)
	}
}

func TestReportWithoutJanus(t *testing.T) {
	roomd := points("roomd", 0.05, 0.01, 5, 10) // 5000 µs/s per stream: 200 per core
	var b strings.Builder
	if err := Report(&b, Run{Window: 10, JanusNote: "not measured: no janus.", LiveKitNote: "not measured: left out."}, roomd, nil, nil); err != nil {
		t.Fatal(err)
	}
	r := b.String()
	if got, want := line(t, r, "| 5 |"), "| 5 | 10 | 10.0 % | 10000 | 100.0 % | — | — | — | — | — | — | — | — |"; got != want {
		t.Errorf("N=5 row:\n got %s\nwant %s", got, want)
	}
	if got, want := line(t, r, "| marginal"), "| marginal µs/s per stream | 5000 | — | — |"; got != want {
		t.Errorf("marginal row:\n got %s\nwant %s", got, want)
	}
	if got := line(t, r, "Goals:"); !strings.Contains(got, "not met (200)") || !strings.Contains(got, "not measured (no Janus fit)") {
		t.Errorf("goals line: %s", got)
	}
	if line(t, r, "Janus: ") != "Janus: not measured: no janus." || line(t, r, "LiveKit: ") != "LiveKit: not measured: left out." {
		t.Error("the Janus and LiveKit notes should be printed")
	}
}

func TestReportRowsUnionOfN(t *testing.T) {
	// Rows are every N either side measured, in order; a side missing an N
	// shows dashes there and no ratio.
	roomd := []Point{{N: 10, ServerCPU: 0.02, Sent: 1, Received: 10}, {N: 5, ServerCPU: 0.01, Sent: 1, Received: 5}}
	janus := []Point{{N: 20, ServerCPU: 0.08, Sent: 1, Received: 20}, {N: 5, ServerCPU: 0.02, Sent: 1, Received: 5}}
	var b strings.Builder
	if err := Report(&b, Run{Window: 1}, roomd, janus, nil); err != nil {
		t.Fatal(err)
	}
	var ns []string
	for _, l := range strings.Split(b.String(), "\n") {
		if f := strings.Split(l, " | "); len(f) == 13 && strings.HasPrefix(l, "| ") && l[2] >= '0' && l[2] <= '9' {
			ns = append(ns, strings.TrimPrefix(f[0], "| "))
		}
	}
	if strings.Join(ns, ",") != "5,10,20" {
		t.Errorf("rows for N %v, want 5,10,20", ns)
	}
	if got := line(t, b.String(), "| 5 |"); !strings.HasSuffix(got, "| 0.50× | — |") {
		t.Errorf("N=5 ratio: %s", got)
	}
	if got := line(t, b.String(), "| 20 |"); !strings.Contains(got, "| 40 | — | — | — |") {
		t.Errorf("N=20 row should have no roomd figures: %s", got)
	}
}
