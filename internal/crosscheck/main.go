// Command crosscheck proves what can be proven of another system's build
// without its SDK (make lint runs it for macOS: `go run ./internal/crosscheck
// -goos darwin -goarch arm64,amd64`). For each GOARCH it
//
//   - lists every package of the module, tests included, as that system
//     builds it with cgo (go list -e -test -deps): every build constraint must
//     resolve and every import be found, and every package this machine
//     builds must be there too, or it fails naming the package;
//   - splits them: a package needs cgo when it, or anything its build or its
//     tests' build links, has cgo files (libopus, libvpx, miniaudio, ...);
//   - runs go vet with CGO_ENABLED=0 over every package that needs no cgo,
//     and go build with CGO_ENABLED=0 over those whose own code needs none but
//     whose tests do (vet type-checks the tests too);
//   - type-checks from source, with go/types, every package and test
//     variant that needs cgo, its Go and cgo files as that system picks
//     them (typecheck.go): `import "C"` is faked, so what C names is not
//     checked, but everything written in Go is;
//   - fails if a package that must stay cgo-free (mustBeCgoFree: the
//     daemon's control surface, the room protocol's two ends, voipctl,
//     roomd) needs cgo there (its tests may: an end-to-end test of roomd's
//     command runs a voipd).
//
// The cgo packages themselves cannot be compiled here (no macOS SDK, no
// Homebrew libraries): their C, and how the Go uses C's names, is unproven.
//
// It runs the go command named by $GO (make lint passes its $(GO)), or go.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
)

const module = "github.com/voipd/voipd"

// mustBeCgoFree are the packages (by path under the module) whose own code
// must build without cgo on every system: docs/ARCHITECTURE.md
// keeps cgo in codec and hw below them.
var mustBeCgoFree = []string{
	"daemon", "daemon/config", "daemon/control", "daemon/session", "daemon/sdnotify", "daemon/display",
	"proto", "room", "roomd", "media", "media/settings", "hw", "hw/synth", "hw/camera",
	"cmd/voipctl", "cmd/roomd", "internal/journal",
}

// pkg is what go list says of one package (or test variant).
type pkg struct {
	ImportPath string
	ForTest    string
	Standard   bool
	CgoFiles   []string
	Deps       []string
	Error      *struct{ Err string }
	DepsErrors []*struct{ Err string }

	// For the type check (typecheck.go).
	Dir       string
	GoFiles   []string
	Imports   []string
	ImportMap map[string]string
	Module    *struct{ GoVersion string }
	Export    string
}

// goTool runs the go command in one module for one target system.
type goTool struct {
	bin     string   // the go command
	dir     string   // the module's root, or "" for the working directory
	env     []string // the environment, GOOS and GOARCH set
	overlay map[string]string
	// overlayFile is overlay as go's -overlay flag reads it (tests break
	// files through it, leaving the tree alone); "" for none.
	overlayFile string
}

func (g goTool) command(env []string, args ...string) *exec.Cmd {
	if g.overlayFile != "" && len(args) > 0 {
		args = append([]string{args[0], "-overlay=" + g.overlayFile}, args[1:]...)
	}
	cmd := exec.Command(g.bin, args...)
	cmd.Env, cmd.Dir = env, g.dir
	return cmd
}

// output runs go with args and returns its standard output.
func (g goTool) output(env []string, args ...string) ([]byte, error) {
	cmd := g.command(env, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %v\n%s", args[0], err, stderr.String())
	}
	return b, nil
}

// quiet runs go with args, its output kept for the error.
func (g goTool) quiet(env []string, args ...string) error {
	if b, err := g.command(env, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

func (g goTool) run(env []string, args ...string) error {
	cmd := g.command(env, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func main() {
	goos := flag.String("goos", "darwin", "the system to check")
	goarch := flag.String("goarch", "arm64,amd64", "its architectures, comma-separated")
	flag.Parse()
	bin := goBin()
	failed := false
	for _, arch := range strings.Split(*goarch, ",") {
		g := goTool{bin: bin, env: append(os.Environ(), "GOOS="+*goos, "GOARCH="+arch)}
		if err := check(g, *goos, arch, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "crosscheck %s/%s: %v\n", *goos, arch, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// goBin is the go command: $GO, as make passes it, or go.
func goBin() string {
	if bin := os.Getenv("GO"); bin != "" {
		return bin
	}
	return "go"
}

// check checks the module for g's system, goos/goarch.
func check(g goTool, goos, goarch string, out io.Writer) error {
	listed, err := goList(g)
	if err != nil {
		return err
	}
	if err := sameTree(g, listed, goos+"/"+goarch); err != nil {
		return err
	}
	noCgo := append(g.env, "CGO_ENABLED=0")
	vet, build, cgo, err := split(listed, func(path string) bool { return g.quiet(noCgo, "build", path) != nil })
	if err != nil {
		return err
	}
	if err := g.run(noCgo, append([]string{"vet"}, vet...)...); err != nil {
		return fmt.Errorf("go vet without cgo: %w", err)
	}
	if len(build) > 0 {
		if err := g.run(noCgo, append([]string{"build"}, build...)...); err != nil {
			return fmt.Errorf("go build without cgo: %w", err)
		}
	}
	n, err := typeCheck(g, listed, goarch)
	if err != nil {
		return fmt.Errorf("type check with C faked:\n%w", err)
	}
	fmt.Fprintf(out, "%s/%s: go vet without cgo: %d packages; go build without cgo (their tests need cgo): %s; needing cgo: %s; type-checked from source with C faked: %d packages and test variants (all that link cgo files)\n",
		goos, goarch, len(vet), short(build), short(cgo), n)
	return nil
}

// goList lists the module's packages and everything they link, tests
// included, as g's system builds them with cgo.
func goList(g goTool) ([]pkg, error) {
	b, err := g.output(append(g.env, "CGO_ENABLED=1"), "list", "-e", "-test", "-deps",
		"-json=ImportPath,ForTest,Standard,CgoFiles,Deps,Error,DepsErrors,Dir,GoFiles,Imports,ImportMap,Module", "./...")
	if err != nil {
		return nil, err
	}
	var out []pkg
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// split sorts the module's packages into those to vet without cgo, those
// only to build without cgo (their tests need it) and those that need cgo.
// A package of the module with cgo files needs cgo; another one needs it
// unless it builds without (buildFails false: a library whose cgo is
// optional, such as the Prometheus client's memory reading on macOS). A package that does not list
// cleanly (a constraint leaving no file, an import not found) is an error
// naming it.
func split(listed []pkg, buildFails func(path string) bool) (vet, build, cgo []string, err error) {
	hasCgo := map[string]bool{}
	for _, p := range listed {
		path := base(p.ImportPath)
		if !p.Standard && len(p.CgoFiles) > 0 && p.ForTest == "" && !strings.HasSuffix(path, ".test") {
			if _, seen := hasCgo[path]; !seen {
				// Ours are incomplete without their cgo files even where
				// the rest compiles (codec/vp8's header parser).
				hasCgo[path] = path == module || strings.HasPrefix(path, module+"/") || buildFails(path)
			}
		}
	}
	needs := func(p pkg) bool {
		if hasCgo[base(p.ImportPath)] {
			return true
		}
		for _, d := range p.Deps {
			if hasCgo[base(d)] {
				return true
			}
		}
		return false
	}
	ownNeeds := map[string]bool{}  // the package's own build
	testNeeds := map[string]bool{} // any of its test variants
	var ours []string
	var errs []error
	for _, p := range listed {
		path := base(p.ImportPath)
		if path != module && !strings.HasPrefix(path, module+"/") {
			continue
		}
		if p.Error != nil {
			errs = append(errs, fmt.Errorf("%s: %s", p.ImportPath, p.Error.Err))
		}
		for _, e := range p.DepsErrors {
			errs = append(errs, fmt.Errorf("%s: %s", p.ImportPath, e.Err))
		}
		switch {
		case strings.HasSuffix(path, ".test"): // p.test, the test main
			if needs(p) {
				testNeeds[strings.TrimSuffix(path, ".test")] = true
			}
		case p.ForTest != "": // p [q.test], p_test [p.test]
			if needs(p) {
				testNeeds[p.ForTest] = true
			}
		default: // the package itself
			ours = append(ours, path)
			ownNeeds[path] = needs(p)
		}
	}
	if len(errs) > 0 {
		return nil, nil, nil, errors.Join(errs...)
	}
	sort.Strings(ours)
	for _, path := range ours {
		switch {
		case ownNeeds[path]:
			cgo = append(cgo, path)
		case testNeeds[path]:
			build = append(build, path)
		default:
			vet = append(vet, path)
		}
	}
	for _, rel := range mustBeCgoFree {
		path := module + "/" + rel
		if ownNeeds[path] {
			errs = append(errs, fmt.Errorf("%s needs cgo: it must build without it (docs/ARCHITECTURE.md, Imports)", path))
		}
	}
	if len(vet) < len(mustBeCgoFree) {
		errs = append(errs, fmt.Errorf("only %d packages to vet without cgo: the listing is wrong", len(vet)))
	}
	return vet, build, cgo, errors.Join(errs...)
}

// sameTree fails for every package of the module that this machine builds
// and listed does not hold: go list's ./... passes over a directory whose
// every file the target's build constraints exclude, without a word.
func sameTree(g goTool, listed []pkg, target string) error {
	here := goTool{bin: g.bin, dir: g.dir, env: os.Environ(), overlayFile: g.overlayFile}
	b, err := here.output(here.env, "list", "./...")
	if err != nil {
		return fmt.Errorf("this machine: %w", err)
	}
	there := map[string]bool{}
	for _, p := range listed {
		there[p.ImportPath] = true
	}
	var errs []error
	for _, path := range strings.Fields(string(b)) {
		if !there[path] {
			errs = append(errs, fmt.Errorf("%s: build constraints exclude all its Go files on %s, not on this machine", path, target))
		}
	}
	return errors.Join(errs...)
}

// base strips a test variant's " [x.test]".
func base(importPath string) string {
	p, _, _ := strings.Cut(importPath, " ")
	return p
}

// short names packages relative to the module.
func short(paths []string) string {
	if len(paths) == 0 {
		return "none"
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = strings.TrimPrefix(p, module+"/")
	}
	return strings.Join(out, " ")
}
