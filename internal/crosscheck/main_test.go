package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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

// The check fails on each of these macOS-only breakages, none of which a
// listing sees: a type error in a darwin file of a cgo package, a darwin
// file deleted (its names then undefined where a cgo package uses them), a
// Linux-only syscall in a cgo package. The module is this one, each file
// changed through go's -overlay, never on disk; no network is used.
func TestCheckFailsOnDarwinBreakage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the check six times (about 3 s each with a warm cache)")
	}
	bin := goBin()
	root, err := exec.Command(bin, "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := strings.TrimSpace(string(root))
	scratch := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(scratch, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	backends, err := os.ReadFile(filepath.Join(dir, "hw/audio/backends_darwin.go"))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, tc := range []struct {
		name    string
		overlay map[string]string // file under dir -> replacement ("" deletes)
		says    string            // in the error; "" for none
	}{
		{"unchanged", nil, ""},
		{"type error in hw/audio/backends_darwin.go",
			map[string]string{"hw/audio/backends_darwin.go": write("backends.go", string(backends)+"\nvar broken int = \"macOS\"\n")},
			"backends_darwin.go"},
		{"hw/audio/permission_darwin.go deleted",
			map[string]string{"hw/audio/permission_darwin.go": ""}, "undefined: micAccessNow"},
		{"daemon/sdnotify/sdnotify_darwin.go deleted",
			map[string]string{"daemon/sdnotify/sdnotify_darwin.go": ""}, "sdnotify.Ready"},
		{"hw/camera/new_darwin.go deleted",
			map[string]string{"hw/camera/new_darwin.go": ""}, "camera.New"},
		{"Linux-only syscall in codec/mjpeg",
			map[string]string{"codec/mjpeg/linuxonly.go": write("linuxonly.go", "package mjpeg\n\nimport \"syscall\"\n\nvar _ = syscall.SYS_PRCTL\n")},
			"undefined: syscall.SYS_PRCTL"},
	} {
		i++
		t.Run(tc.name, func(t *testing.T) {
			g := goTool{bin: bin, dir: dir, env: append(os.Environ(), "GOOS=darwin", "GOARCH=arm64", "GOPROXY=off")}
			if tc.overlay != nil {
				g.overlay = map[string]string{}
				for rel, repl := range tc.overlay {
					g.overlay[filepath.Join(dir, rel)] = repl
				}
				b, err := json.Marshal(struct{ Replace map[string]string }{g.overlay})
				if err != nil {
					t.Fatal(err)
				}
				g.overlayFile = write(fmt.Sprintf("overlay%d.json", i), string(b))
			}
			err := check(g, "darwin", "arm64", io.Discard)
			switch {
			case tc.says == "" && err != nil:
				t.Fatalf("the unchanged module: %v", err)
			case tc.says != "" && err == nil:
				t.Fatal("passes")
			case tc.says != "" && !strings.Contains(err.Error(), tc.says):
				t.Fatalf("fails, but not naming %q:\n%v", tc.says, err)
			}
			if err != nil {
				t.Log(err)
			}
		})
	}
}
