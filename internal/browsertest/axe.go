package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// AxeViolation is one rule axe-core found broken on a page, with the
// elements that break it.
type AxeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"` // "minor", "moderate", "serious" or "critical"
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // each element's selector and axe's summary of what is wrong
}

func (v AxeViolation) String() string {
	return fmt.Sprintf("%s (%s): %s\n\t%s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
}

// axePath is where scripts/axe-core.sh puts axe-core (make test runs it).
func axePath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "axe", "axe.min.js")
}

// Axe runs axe-core on the page as it is now (WCAG 2.x A and AA rules and
// axe's best practices) and returns what it found broken.
func (p *Page) Axe(ctx context.Context) ([]AxeViolation, error) {
	src, err := os.ReadFile(axePath())
	if err != nil {
		return nil, fmt.Errorf("axe-core: %w (scripts/axe-core.sh fetches it; make test runs it)", err)
	}
	if err := p.Eval(ctx, string(src)+";0", nil); err != nil {
		return nil, fmt.Errorf("axe-core: loading it into the page: %w", err)
	}
	var vs []AxeViolation
	err = p.Eval(ctx, `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help,
		nodes: v.nodes.map(n => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " ")),
	})))`, &vs)
	if err != nil {
		return nil, fmt.Errorf("axe-core: running it: %w", err)
	}
	return vs, nil
}

// CheckAxe runs Axe and fails t for each serious or critical violation,
// logging the lesser ones; what names the page's state in the messages.
func (p *Page) CheckAxe(ctx context.Context, t testing.TB, what string) {
	t.Helper()
	vs, err := p.Axe(ctx)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: %s", what, v)
		} else {
			t.Logf("%s (not judged): %s", what, v)
		}
	}
}
