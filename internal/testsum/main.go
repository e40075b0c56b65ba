// Command testsum reads `go test -json` on stdin, passes the human output
// through, and closes with what ran: a line per package and the totals as
// "N passed, N failed, N skipped". A package whose test files ran no test at
// all (everything skipped, or filtered away) fails the run: no package may
// skip silently.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

type pkgResult struct {
	passed, failed, skipped int
	status                  string // ok, FAIL, "no test files"
	elapsed                 float64
}

func main() {
	os.Exit(run(os.Stdin, os.Stdout))
}

func run(in io.Reader, out io.Writer) int {
	pkgs := map[string]*pkgResult{}
	get := func(p string) *pkgResult {
		if pkgs[p] == nil {
			pkgs[p] = &pkgResult{}
		}
		return pkgs[p]
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			fmt.Fprintln(out, sc.Text()) // build errors come as plain text
			continue
		}
		if e.Action == "output" {
			fmt.Fprint(out, e.Output)
			if e.Test == "" && strings.Contains(e.Output, "[no test files]") {
				get(e.Package).status = "no test files"
			}
			continue
		}
		r := get(e.Package)
		if e.Test != "" {
			// Subtests count too: a table's rows are what ran.
			switch e.Action {
			case "pass":
				r.passed++
			case "fail":
				r.failed++
			case "skip":
				r.skipped++
			}
			continue
		}
		switch e.Action {
		case "pass":
			if r.status == "" {
				r.status = "ok"
			}
			r.elapsed = e.Elapsed
		case "fail":
			r.status = "FAIL"
			r.elapsed = e.Elapsed
		case "skip":
			if r.status == "" {
				r.status = "no test files"
			}
		}
	}
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	sort.Strings(names)
	var passed, failed, skipped int
	var silent, untested []string
	fmt.Fprintln(out, "\n== what ran ==")
	for _, p := range names {
		r := pkgs[p]
		passed, failed, skipped = passed+r.passed, failed+r.failed, skipped+r.skipped
		switch {
		case r.status == "no test files":
			untested = append(untested, p)
			continue
		case r.status == "ok" && r.passed == 0:
			silent = append(silent, p)
		}
		fmt.Fprintf(out, "%-4s %-55s %4d passed %3d failed %3d skipped %7.1fs\n", r.status, p, r.passed, r.failed, r.skipped, r.elapsed)
	}
	if len(untested) > 0 {
		fmt.Fprintf(out, "packages without tests: %s\n", strings.Join(untested, " "))
	}
	code := 0
	if len(silent) > 0 {
		fmt.Fprintf(out, "FAIL: these packages ran no test: %s\n", strings.Join(silent, " "))
		code = 1
	}
	if skipped > 0 {
		fmt.Fprintf(out, "FAIL: %d tests skipped; a test that cannot run here must be replaced, not skipped\n", skipped)
		code = 1
	}
	for _, p := range names {
		if pkgs[p].status == "FAIL" {
			code = 1
		}
	}
	if failed > 0 {
		code = 1
	}
	fmt.Fprintf(out, "%d passed, %d failed, %d skipped\n", passed, failed, skipped)
	return code
}
