package janus

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Run is what the report says about the run besides the points.
type Run struct {
	When      string  // UTC time of the run
	Machine   string  // cores and CPU model
	Versions  string  // Go, roomd's pion, Janus
	Window    float64 // seconds per measured window
	Target    float64 // the load the N is extrapolated to, 0.8
	JanusNote string  // why there are no Janus points, if there are none
}

// GoalStreamsPerCore is mediasoup's published figure, roomd's goal.
const GoalStreamsPerCore = 500

// Report writes the markdown section: one row per N with both servers side
// by side, the fit, the goals and how the measurement was isolated.
func Report(w io.Writer, run Run, roomd, janus []Point) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### roomd vs Janus VideoRoom: one publisher forwarded to N subscribers\n\n")
	fmt.Fprintf(&b, "%s, %s, %s. One publisher sends Opus (50 packets/s) and VP8 (30 frames/s, ~800 kbit/s, "+
		"dummy frames); each subscriber receives both (2 forwarded streams). Server CPU is utime+stime from "+
		"/proc/PID/stat over a %.0f s window at each N; µs/s per stream = server CPU ÷ streams; delivered = "+
		"packets the sinks received ÷ (packets sent × N) in the same window.\n\n",
		run.When, run.Machine, run.Versions, run.Window)
	b.WriteString("| N | streams | roomd CPU | roomd µs/s per stream | roomd delivered | Janus CPU | Janus µs/s per stream | Janus delivered | roomd ÷ Janus |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, n := range allN(roomd, janus) {
		r, rok := at(roomd, n)
		j, jok := at(janus, n)
		ratio := "—"
		if rok && jok && j.MicrosPerStream() > 0 {
			ratio = fmt.Sprintf("%.2f×", r.MicrosPerStream()/j.MicrosPerStream())
		}
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s | %s | %s | %s |\n", n, n*StreamsPerSubscriber,
			cell(rok, pct(r.ServerCPU)), cell(rok, fmt.Sprintf("%.0f", r.MicrosPerStream())), cell(rok, pct(r.Delivered())),
			cell(jok, pct(j.ServerCPU)), cell(jok, fmt.Sprintf("%.0f", j.MicrosPerStream())), cell(jok, pct(j.Delivered())),
			ratio)
	}
	rf, jf := FitPoints(roomd), FitPoints(janus)
	target := run.Target
	if target == 0 {
		target = 0.8
	}
	fmt.Fprintf(&b, "\n| least-squares line CPU = fixed + marginal × N | roomd | Janus |\n| --- | ---: | ---: |\n")
	fmt.Fprintf(&b, "| fixed (publisher, idle) | %s | %s |\n", fitCell(rf, pct(rf.Fixed)), fitCell(jf, pct(jf.Fixed)))
	fmt.Fprintf(&b, "| marginal µs/s per stream | %s | %s |\n",
		fitCell(rf, fmt.Sprintf("%.0f", rf.MicrosPerStream())), fitCell(jf, fmt.Sprintf("%.0f", jf.MicrosPerStream())))
	fmt.Fprintf(&b, "| N at %.0f %% of one core (extrapolated) | %s | %s |\n", target*100,
		fitCell(rf, fmt.Sprintf("%.0f", rf.NAt(target))), fitCell(jf, fmt.Sprintf("%.0f", jf.NAt(target))))
	fmt.Fprintf(&b, "| forwarded streams per core (marginal) | %s | %s |\n",
		fitCell(rf, fmt.Sprintf("%.0f", rf.StreamsPerCore())), fitCell(jf, fmt.Sprintf("%.0f", jf.StreamsPerCore())))
	fmt.Fprintf(&b, "| load generator's CPU, highest window (core 0) | %s | %s |\n", genCell(roomd), genCell(janus))
	b.WriteString("\n")
	b.WriteString(goals(rf, jf))
	if run.JanusNote != "" {
		fmt.Fprintf(&b, "\nJanus: %s\n", run.JanusNote)
	}
	b.WriteString("\nIsolation: the measured server (roomd, then Janus: the legs run one after the other, never " +
		"together) is pinned to core 1 with `taskset -c 1`, the load generator (publisher and all subscribers, " +
		"one Go process) to core 0, so Go's scheduler runs it on that core alone. Sinks count packets as pion " +
		"hands them over (SRTP decrypted on core 0, nothing decoded). Both servers log at warning level and take " +
		"signalling on 127.0.0.1. roomd's media is on 127.0.0.1 too; Janus's libnice gathers no loopback candidate " +
		"(ice_enforce_list cannot select lo), so its ICE is enforced to the host's own address, which Linux routes " +
		"through lo as well (no NIC, no STUN, no mDNS; only the VideoRoom plugin and the HTTP transport loaded). " +
		"Each N gets a fresh room after the previous one is torn down; a window " +
		"starts once the sinks receive what the publisher sends. Extrapolation is a straight line through the " +
		"measured N, not a measurement at that N.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// goals says whether roomd meets the two goals.
func goals(rf, jf Fit) string {
	var b strings.Builder
	b.WriteString("Goals: ")
	if !rf.OK {
		b.WriteString("no roomd fit, so neither goal can be judged.\n")
		return b.String()
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "not met"
	}
	fmt.Fprintf(&b, "≥ %d forwarded streams per core: %s (%.0f); ", GoalStreamsPerCore,
		verdict(rf.StreamsPerCore() >= GoalStreamsPerCore), rf.StreamsPerCore())
	if !jf.OK {
		b.WriteString("CPU per stream ≤ Janus's: not measured (no Janus fit).\n")
		return b.String()
	}
	fmt.Fprintf(&b, "CPU per stream ≤ Janus's: %s (%.2f× Janus's marginal cost).\n",
		verdict(rf.MicrosPerStream() <= jf.MicrosPerStream()), rf.MicrosPerStream()/jf.MicrosPerStream())
	return b.String()
}

func allN(sets ...[]Point) []int {
	var ns []int
	for _, ps := range sets {
		for _, p := range ps {
			if !slices.Contains(ns, p.N) {
				ns = append(ns, p.N)
			}
		}
	}
	slices.Sort(ns)
	return ns
}

func at(ps []Point, n int) (Point, bool) {
	for _, p := range ps {
		if p.N == n {
			return p, true
		}
	}
	return Point{}, false
}

func pct(v float64) string { return fmt.Sprintf("%.1f %%", v*100) }

func cell(ok bool, s string) string {
	if !ok {
		return "—"
	}
	return s
}

func fitCell(f Fit, s string) string {
	if !f.OK || strings.Contains(s, "NaN") {
		return "—"
	}
	return s
}

func genCell(ps []Point) string {
	if len(ps) == 0 {
		return "—"
	}
	hi := math.Inf(-1)
	for _, p := range ps {
		hi = max(hi, p.GenCPU)
	}
	return pct(hi)
}
