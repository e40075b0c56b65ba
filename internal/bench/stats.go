// Package bench holds what `make bench` (scripts/bench.sh) measures with
// beyond `go test -bench`: readers of /proc (CPU time, RSS and PSS of a
// process tree), parsers of the Go runtime's gctrace lines and of the
// MemStats lines of net/http/pprof's profiles, a build of voipd at an
// earlier commit (in a temporary git worktree), the click source and
// detector of the mouth-to-ear measurement, and the statistics
// and markdown formatting of docs/BENCHMARKS.md (each figure beside its
// anchor as a ratio, with the goal and whether it is met).
//
// The programs that drive the measurements live in internal/bench/cmd
// (voipbench), the C anchors in internal/bench/anchor. Nothing here judges
// a figure against a goal in a test: the machine is shared and noisy, and
// the goals belong in the report.
package bench

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Percentile returns the p-th percentile (0..100) of xs by the
// nearest-rank method; NaN for no values. xs is not modified.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// Median is the 50th percentile (the lower middle for an even count).
func Median(xs []float64) float64 { return Percentile(xs, 50) }

// Millis converts durations to float milliseconds, for Percentile.
func Millis(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = float64(d) / float64(time.Millisecond)
	}
	return out
}

// Goal is one of the targets: a figure (or a ratio) at most Max.
type Goal struct {
	Max   float64
	Label string // how the goal reads in the report, e.g. "≤ 0.5×"
}

// Met reports whether v meets the goal; NaN (not measured) never does.
func (g Goal) Met(v float64) bool { return !math.IsNaN(v) && v <= g.Max }

// Verdict is the report's word for v against g.
func (g Goal) Verdict(v float64) string {
	switch {
	case g.Label == "":
		return "—"
	case math.IsNaN(v):
		return "not measured"
	case g.Met(v):
		return "met"
	}
	return "**not met**"
}

// Row is one line of a report table: our figure beside its anchor's.
type Row struct {
	What   string
	Ours   float64
	Anchor float64 // NaN: no anchor; the ratio column then shows the figure itself against the goal
	Unit   string  // "ms", "% of a core", "MiB", ...
	AName  string  // what the anchor is
	Goal   Goal    // on the ratio when there is an anchor, else on Ours
}

// Ratio is Ours ÷ Anchor (NaN without an anchor or for a zero anchor).
func (r Row) Ratio() float64 {
	if math.IsNaN(r.Anchor) || r.Anchor == 0 {
		return math.NaN()
	}
	return r.Ours / r.Anchor
}

// Figure formats a value with its unit; "—" for NaN.
func Figure(v float64, unit string) string {
	if math.IsNaN(v) {
		return "—"
	}
	prec := 1
	if math.Abs(v) >= 100 {
		prec = 0
	} else if math.Abs(v) < 1 {
		prec = 2
	}
	return strings.TrimSpace(fmt.Sprintf("%.*f %s", prec, v, unit))
}

// Table renders rows as a markdown table: what, ours, anchor, ratio, goal,
// verdict.
func Table(rows []Row) string {
	var b strings.Builder
	b.WriteString("| what | ours | anchor | anchor figure | ratio | goal | met |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rows {
		ratio, judged := "—", r.Ours
		if !math.IsNaN(r.Anchor) {
			judged = r.Ratio()
			if !math.IsNaN(judged) {
				ratio = fmt.Sprintf("%.2f×", judged)
			}
		}
		aname := r.AName
		if aname == "" {
			aname = "—"
		}
		goal := r.Goal.Label
		if goal == "" {
			goal = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.What, Figure(r.Ours, r.Unit), aname,
			Figure(r.Anchor, r.Unit), ratio, goal, r.Goal.Verdict(judged))
	}
	return b.String()
}
