package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/voipd/voipd/daemon"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/roomd"
)

// TestDashboardQueriesExist: every series the fleet dashboard
// (docs/grafana/voipd-fleet.json) queries is one voipd or roomd serves,
// and every label it groups by is one of those series' labels (or the
// scrape's own instance and job).
func TestDashboardQueriesExist(t *testing.T) {
	raw, err := os.ReadFile("../../docs/grafana/voipd-fleet.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	reg := NewRegistry(NewVoipd(new(media.Totals), func() daemon.Counters {
		return daemon.Counters{Joins: []daemon.JoinCount{{JoinKey: daemon.JoinKey{Method: "joinVoIPChat"}, N: 1}}}
	}), NewRoomd(func() roomd.Metrics {
		return roomd.Metrics{Joins: map[roomd.JoinResult]uint64{{Kind: "voip", Result: "ok"}: 1}, Refusals: map[string]uint64{"signature": 1}}
	}))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]map[string]bool{} // series → its label names
	for _, f := range fams {
		ls := map[string]bool{"instance": true, "job": true}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				ls[l.GetName()] = true
			}
		}
		labels[f.GetName()] = ls
	}
	series := regexp.MustCompile(`\b(?:voipd|roomd|process|go)_[a-z_]+\b`)
	by := regexp.MustCompile(`by \(([^)]*)\)`)
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			names := series.FindAllString(tg.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q: %q queries none of the daemons' series", p.Title, tg.Expr)
			}
			for _, n := range names {
				if labels[n] == nil {
					t.Errorf("panel %q queries %s, which neither daemon serves", p.Title, n)
				}
			}
			for _, g := range by.FindAllStringSubmatch(tg.Expr, -1) {
				for _, l := range strings.Split(g[1], ",") {
					l = strings.TrimSpace(l)
					ok := false
					for _, n := range names {
						ok = ok || labels[n][l]
					}
					if !ok {
						t.Errorf("panel %q groups by %q, a label none of %v has", p.Title, l, names)
					}
				}
			}
		}
	}
	if queries < 10 {
		t.Errorf("only %d queries in the dashboard", queries)
	}
}
