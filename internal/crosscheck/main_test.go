package main

import (
	"slices"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	must := func(extra ...pkg) []pkg {
		// Every package that must stay cgo-free, linking nothing with cgo.
		var out []pkg
		for _, rel := range mustBeCgoFree {
			out = append(out, pkg{ImportPath: m(rel)})
		}
		return append(out, extra...)
	}
	listed := must(
		pkg{ImportPath: "runtime/cgo", Standard: true, CgoFiles: []string{"cgo.go"}},
		pkg{ImportPath: "example.org/optional", CgoFiles: []string{"mem_cgo_darwin.go"}},
		pkg{ImportPath: "example.org/needs", CgoFiles: []string{"c.go"}},
		pkg{ImportPath: m("codec/c"), CgoFiles: []string{"c.go"}, Deps: []string{"example.org/needs", "runtime/cgo"}},
		pkg{ImportPath: m("media/p"), Deps: []string{m("codec/c"), "example.org/needs", "runtime/cgo"}},
		pkg{ImportPath: m("plain"), Deps: []string{"example.org/optional", "runtime/cgo"}},
		pkg{ImportPath: m("tested")},
		// go list's Deps are transitive.
		pkg{ImportPath: m("tested") + " [" + m("tested") + ".test]", ForTest: m("tested"), Deps: []string{m("media/p"), m("codec/c"), "example.org/needs"}},
		pkg{ImportPath: m("tested.test"), Deps: []string{m("tested") + " [" + m("tested") + ".test]", m("media/p"), m("codec/c"), "example.org/needs"}},
		pkg{ImportPath: m("plain.test"), Deps: []string{m("plain")}},
	)
	built := []string{}
	vet, build, cgo, err := split(listed, func(path string) bool {
		built = append(built, path)
		return path == "example.org/needs"
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(built)
	if !slices.Equal(built, []string{"example.org/needs", "example.org/optional"}) {
		t.Errorf("tried to build %v without cgo, want the two third-party cgo packages only", built)
	}
	if !slices.Equal(cgo, []string{m("codec/c"), m("media/p")}) {
		t.Errorf("needing cgo: %v", cgo)
	}
	if !slices.Equal(build, []string{m("tested")}) {
		t.Errorf("build only: %v", build)
	}
	if !slices.Contains(vet, m("plain")) || slices.Contains(vet, m("tested")) || len(vet) != len(mustBeCgoFree)+1 {
		t.Errorf("vet: %v", vet)
	}

	// A package that must stay cgo-free and links cgo, and one that does not
	// list cleanly, are errors naming them.
	cgoDaemon := must(pkg{ImportPath: m("codec/c"), CgoFiles: []string{"c.go"}})
	for i := range cgoDaemon {
		if cgoDaemon[i].ImportPath == m("daemon") {
			cgoDaemon[i].Deps = []string{m("codec/c")}
		}
	}
	if _, _, _, err := split(cgoDaemon, func(string) bool { return true }); err == nil || !strings.Contains(err.Error(), m("daemon")+" needs cgo") {
		t.Errorf("split with a daemon linking cgo: %v", err)
	}
	broken := must(pkg{ImportPath: m("broken"), Error: &struct{ Err string }{"build constraints exclude all Go files"}})
	if _, _, _, err := split(broken, func(string) bool { return true }); err == nil || !strings.Contains(err.Error(), m("broken")+": build constraints") {
		t.Errorf("split with a package that does not list: %v", err)
	}
}
