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
	// LiveKitNote: why there are no LiveKit points, if there are none.
	LiveKitNote string
}

// GoalStreamsPerCore is mediasoup's published figure, roomd's goal.
const GoalStreamsPerCore = 500

// Report writes the markdown section: one row per N with the servers side
// by side (roomd, Janus, LiveKit), the fits, the goals and how the
// measurement was isolated.
func Report(w io.Writer, run Run, roomd, janus, livekit []Point) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### roomd vs Janus VideoRoom and LiveKit: one publisher forwarded to N subscribers\n\n")
	fmt.Fprintf(&b, "%s, %s, %s. One publisher sends Opus (50 packets/s) and VP8 (30 frames/s, ~800 kbit/s, "+
		"dummy frames); each subscriber receives both (2 forwarded streams). Server CPU is utime+stime from "+
		"/proc/PID/stat over a %.0f s window at each N; µs/s per stream = server CPU ÷ streams; delivered = "+
		"packets the sinks received ÷ (packets sent × N) in the same window.\n\n",
		run.When, run.Machine, run.Versions, run.Window)
	b.WriteString("| N | streams | roomd CPU | roomd µs/s per stream | roomd delivered | Janus CPU | Janus µs/s per stream | Janus delivered " +
		"| LiveKit CPU | LiveKit µs/s per stream | LiveKit delivered | roomd ÷ Janus | roomd ÷ LiveKit |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	ratio := func(r, o Point, rok, ook bool) string {
		if rok && ook && o.MicrosPerStream() > 0 {
			return fmt.Sprintf("%.2f×", r.MicrosPerStream()/o.MicrosPerStream())
		}
		return "—"
	}
	for _, n := range allN(roomd, janus, livekit) {
		r, rok := at(roomd, n)
		j, jok := at(janus, n)
		l, lok := at(livekit, n)
		fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n, n*StreamsPerSubscriber,
			cell(rok, pct(r.ServerCPU)), cell(rok, fmt.Sprintf("%.0f", r.MicrosPerStream())), cell(rok, pct(r.Delivered())),
			cell(jok, pct(j.ServerCPU)), cell(jok, fmt.Sprintf("%.0f", j.MicrosPerStream())), cell(jok, pct(j.Delivered())),
			cell(lok, pct(l.ServerCPU)), cell(lok, fmt.Sprintf("%.0f", l.MicrosPerStream())), cell(lok, pct(l.Delivered())),
			ratio(r, j, rok, jok), ratio(r, l, rok, lok))
	}
	rf, jf, lf := FitPoints(roomd), FitPoints(janus), FitPoints(livekit)
	target := run.Target
	if target == 0 {
		target = 0.8
	}
	fits := []Fit{rf, jf, lf}
	row := func(name string, f func(Fit) string) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, ft := range fits {
			fmt.Fprintf(&b, " %s |", fitCell(ft, f(ft)))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n| least-squares line CPU = fixed + marginal × N | roomd | Janus | LiveKit |\n| --- | ---: | ---: | ---: |\n")
	row("fixed (publisher, idle)", func(f Fit) string { return pct(f.Fixed) })
	row("marginal µs/s per stream", func(f Fit) string { return fmt.Sprintf("%.0f", f.MicrosPerStream()) })
	row(fmt.Sprintf("N at %.0f %% of one core (extrapolated)", target*100), func(f Fit) string { return fmt.Sprintf("%.0f", f.NAt(target)) })
	row("forwarded streams per core (marginal)", func(f Fit) string { return fmt.Sprintf("%.0f", f.StreamsPerCore()) })
	fmt.Fprintf(&b, "| load generator's CPU, highest window (core 0) | %s | %s | %s |\n", genCell(roomd), genCell(janus), genCell(livekit))
	b.WriteString("\n")
	b.WriteString(goals(rf, jf))
	if rf.OK && lf.OK {
		fmt.Fprintf(&b, "Beside LiveKit (no goal): roomd's marginal cost per stream is %.2f× LiveKit's.\n",
			rf.MicrosPerStream()/lf.MicrosPerStream())
	}
	if run.JanusNote != "" {
		fmt.Fprintf(&b, "\nJanus: %s\n", run.JanusNote)
	}
	if run.LiveKitNote != "" {
		fmt.Fprintf(&b, "\nLiveKit: %s\n", run.LiveKitNote)
	}
	b.WriteString("\nIsolation: the measured server (roomd, then Janus, then LiveKit: the legs run one after the other, never " +
		"together) is pinned to core 1 with `taskset -c 1`, the load generator (publisher and all subscribers, " +
		"one Go process) to core 0, so Go's scheduler runs it on that core alone. Sinks count packets as pion " +
		"hands them over (SRTP decrypted on core 0, nothing decoded). The servers log at warning level and take " +
		"signalling on 127.0.0.1. roomd's and LiveKit's media are on 127.0.0.1 too (LiveKit: one node, no Redis, " +
		"loopback candidates only; its clients are voipd's own LiveKit client, room/lk, with tokens as a gateway " +
		"mints them); Janus's libnice gathers no loopback candidate " +
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
