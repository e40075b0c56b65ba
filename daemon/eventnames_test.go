package daemon

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestEventNamesComplete: EventNames (what subscribe accepts) is exactly
// the set of event names the package's code publishes: a new event
// cannot be left unsubscribable, nor a gone one accepted.
func TestEventNamesComplete(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	eventName := regexp.MustCompile(`^on[A-Z0-9][A-Za-z0-9]*$`)
	published := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "publish" && sel.Sel.Name != "list") {
				return true
			}
			for _, arg := range call.Args {
				if lit, ok := arg.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && eventName.MatchString(s) {
						published[s] = true
					}
				}
			}
			return true
		})
	}
	if len(published) == 0 {
		t.Fatal("found no published event in the package's code")
	}
	for name := range published {
		if !slices.Contains(EventNames, name) {
			t.Errorf("%s is published but not in EventNames: clients cannot subscribe to it", name)
		}
	}
	for _, name := range EventNames {
		if !published[name] {
			t.Errorf("EventNames has %s, which nothing publishes", name)
		}
	}
}
