package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// cgoFalse are the errors go/types reports in code that cgo accepts: with
// FakeImportC a C name has no type, so what only cgo's generated types make
// legal cannot be modelled. Each is named by package, file and message, and
// each is reported the same when this machine's own linux/amd64 build, which
// compiles, is checked the same way (go run ./internal/crosscheck -goos
// linux -goarch amd64): they say nothing about macOS.
var cgoFalse = []struct{ pkg, file, msg string }{
	// A C pointer converted to unsafe.Pointer: unsafe.Pointer(ctx.cptr()),
	// unsafe.Pointer(d.ctx) with ctx a *C.vpx_codec_ctx_t.
	{"github.com/gen2brain/malgo", "context.go", "cannot convert ctx.cptr() (value with invalid type) to type unsafe.Pointer"},
	{module + "/codec/vp8", "decoder.go", "cannot convert d.ctx (variable with invalid type) to type unsafe.Pointer"},
	// An array whose length is a C constant (malgo's DeviceID is
	// [C.sizeof_ma_device_id]byte) cannot be sliced.
	{"github.com/gen2brain/malgo", "device_info.go", "cannot slice d (variable of type *DeviceID)"},
	{module + "/hw/audio", "open.go", "cannot slice id (variable of invalid type type malgo.DeviceID)"},
	// A Go constant defined from a C one (hopus.AppVoIP is
	// Application(C.CONST_APPLICATION_VOIP)) has no value.
	{module + "/codec/opus", "encoder.go", "cannot use hopus.AppVoIP (constant unknown with invalid type)"},
}

// allowed reports whether e is one of cgoFalse.
func allowed(pkgPath string, e types.Error) bool {
	pos := e.Fset.Position(e.Pos)
	for _, a := range cgoFalse {
		if a.pkg == pkgPath && filepath.Base(pos.Filename) == a.file && strings.Contains(e.Msg, a.msg) {
			return true
		}
	}
	return false
}

// typeCheck type-checks from source, for g's system with cgo, every package
// (and test variant) that go vet without cgo leaves out: those that need cgo
// (needs). Their Go and cgo files are parsed as go list chose them for that
// system, `import "C"` faked (go/types' FakeImportC: C's names are not
// checked, everything else is), and every other import read from the
// export data that system's build without cgo makes (the standard library's
// and the cgo-free packages' API is the same either way). It fails naming
// every error found.
func typeCheck(g goTool, listed []pkg, goarch string) (int, error) {
	// Every package with cgo files, even one that builds without cgo
	// (malgo and hraban/opus do, as stubs with another API), and everything
	// that links one.
	hasCgo := map[string]bool{}
	for _, p := range listed {
		if !p.Standard && len(p.CgoFiles) > 0 {
			hasCgo[p.ImportPath] = true
		}
	}
	src := map[string]*pkg{} // by import path, variants included
	var order []string
	for i := range listed {
		p := &listed[i]
		if p.Standard || strings.HasSuffix(base(p.ImportPath), ".test") || !linksCgo(*p, hasCgo) {
			continue
		}
		src[p.ImportPath] = p
		order = append(order, p.ImportPath)
	}
	// A test variant they import (q [p.test], q recompiled for p's
	// tests) has no export data: it is checked here too.
	variants := map[string]*pkg{}
	for i := range listed {
		if listed[i].ForTest != "" {
			variants[listed[i].ImportPath] = &listed[i]
		}
	}
	// What they import that is not checked here comes from export data.
	need := map[string]bool{}
	for i := 0; i < len(order); i++ {
		for _, imp := range src[order[i]].Imports {
			switch {
			case imp == "C" || imp == "unsafe" || src[imp] != nil:
			case variants[imp] != nil:
				src[imp] = variants[imp]
				order = append(order, imp)
			default:
				need[imp] = true
			}
		}
	}
	exports, err := exportData(g, need)
	if err != nil {
		return 0, err
	}
	fset := token.NewFileSet()
	var mu sync.Mutex // the gc importer's package map
	gc := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	sizes := types.SizesFor("gc", goarch)

	// Each package is checked once its checked imports are, in parallel.
	type result struct {
		done chan struct{}
		pkg  *types.Package
	}
	results := map[string]*result{}
	for _, path := range order {
		results[path] = &result{done: make(chan struct{})}
	}
	var errsMu sync.Mutex
	var errs []error
	report := func(err error) {
		errsMu.Lock()
		errs = append(errs, err)
		errsMu.Unlock()
	}
	var wg sync.WaitGroup
	for _, path := range order {
		p, res := src[path], results[path]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(res.done)
			files, err := parseFiles(fset, g.overlay, p)
			if err != nil {
				report(err)
				return
			}
			var version string
			if p.Module != nil && p.Module.GoVersion != "" {
				version = "go" + p.Module.GoVersion
			}
			conf := types.Config{
				FakeImportC: true,
				GoVersion:   version,
				Sizes:       sizes,
				Importer: importerFunc(func(imp string) (*types.Package, error) {
					if mapped, ok := p.ImportMap[imp]; ok {
						imp = mapped
					}
					if r := results[imp]; r != nil {
						<-r.done
						if r.pkg == nil {
							return nil, fmt.Errorf("%s did not type-check", imp)
						}
						return r.pkg, nil
					}
					if imp == "unsafe" {
						return types.Unsafe, nil
					}
					mu.Lock()
					defer mu.Unlock()
					return gc.Import(imp)
				}),
				Error: func(err error) {
					var te types.Error
					if errors.As(err, &te) && allowed(base(p.ImportPath), te) {
						return
					}
					report(fmt.Errorf("%s: %w", p.ImportPath, err))
				},
			}
			name := base(p.ImportPath)
			tp, _ := conf.Check(name, fset, files, nil)
			res.pkg = tp
		}()
	}
	wg.Wait()
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return len(order), errors.Join(errs...)
}

func linksCgo(p pkg, hasCgo map[string]bool) bool {
	if hasCgo[p.ImportPath] {
		return true
	}
	for _, d := range p.Deps {
		if hasCgo[d] {
			return true
		}
	}
	return false
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }

// parseFiles parses p's Go and cgo files, as overlay replaces them.
func parseFiles(fset *token.FileSet, overlay map[string]string, p *pkg) ([]*ast.File, error) {
	var files []*ast.File
	var errs []error
	for _, name := range append(append([]string{}, p.GoFiles...), p.CgoFiles...) {
		path := filepath.Join(p.Dir, name)
		if o, ok := overlay[path]; ok {
			if o == "" { // deleted
				continue
			}
			path = o
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), b, parser.SkipObjectResolution)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files = append(files, f)
	}
	return files, errors.Join(errs...)
}

// exportData builds paths and everything they link for g's system without
// cgo (the build cache keeps them: go vet built the same) and returns
// where each one's export data is.
func exportData(g goTool, paths map[string]bool) (map[string]string, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	args := []string{"list", "-e", "-export", "-deps", "-json=ImportPath,Export,Error"}
	for p := range paths {
		args = append(args, p)
	}
	b, err := g.output(append(g.env, "CGO_ENABLED=0"), args...)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var errs []error
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("go list -export: %w", err)
		}
		if p.Error != nil {
			errs = append(errs, fmt.Errorf("%s without cgo: %s", p.ImportPath, p.Error.Err))
		}
		out[p.ImportPath] = p.Export
	}
	return out, errors.Join(errs...)
}
