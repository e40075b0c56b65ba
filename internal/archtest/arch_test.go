package archtest

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/voipd/voipd"

type pkg struct {
	ImportPath string
	Doc        string
	Name       string
	Imports    []string
	CgoFiles   []string
}

// allowed lists, for each project package (by prefix, most specific first),
// the project packages it may import (by prefix). Test files are not
// checked: an integration test may reach across layers.
var allowed = []struct {
	from string
	to   []string
}{
	{"cmd/", []string{""}}, // composition roots: anything
	{"internal/", []string{""}},
	{"daemon/", []string{"daemon/", "room", "proto", "hw", "media", "web"}},
	{"daemon", []string{"daemon/", "room", "proto", "hw", "media"}},
	// media's settings are read by daemon/config (and so by voipctl): hw's
	// root only, no pion, no cgo.
	{"media/settings", []string{"hw"}},
	{"media/", []string{"media", "hw", "codec"}},
	// media's root is the pipelines' cgo-free contract: hw's root and
	// codec's pure-Go dsp only.
	{"media", []string{"hw", "codec/dsp"}},
	// "proto" covers proto/rtpcodecs too (by prefix): room and roomd are the
	// two ends of the room protocol's media, so both register its codecs.
	// room/lk is the device's client of a LiveKit room (where a gateway
	// sends a join): package room's errors, stats, dialling and pion setup.
	{"room/lk", []string{"room", "proto", "proto/rtpcodecs"}},
	// internal/rawudp (room and roomd): IPv4 sockets pion's ICE reads and
	// writes without a system call the runtime sees (issue 19).
	{"room", []string{"proto", "nack", "intercept", "internal/rawudp"}},
	// roomd/lkgate is roomd's gateway onto LiveKit: it fills roomd's
	// Gateway interface, kept out of roomd so that voipd (which embeds
	// roomd) links no LiveKit.
	{"roomd/lkgate", []string{"roomd", "proto"}},
	{"roomd", []string{"proto", "roomd/", "nack", "web", "internal/rawudp"}},
	{"nack", nil}, // both halves of NACK: the generator and the responder
	// intercept.Register puts nack's generator and responder beside the
	// reports and congestion control.
	{"intercept", []string{"nack"}},
	// internal/ccall: the short per-frame C calls (libopus, the audio
	// processing, the device rings) made without the runtime's syscall
	// state (issue 19).
	{"hw", []string{"hw", "internal/ccall"}},
	{"codec", []string{"codec", "internal/ccall"}},
	{"proto/rtpcodecs", nil}, // before "proto", which would cover it
	{"proto", nil},
	{"systemd", nil}, // only the units' test lives there
	// only the packages' test lives there: it runs a roomd for the
	// packaged voipd to join.
	{"packaging", []string{"roomd", "proto"}},
	// web is browser code that roomd and daemon/display both serve (the
	// <voip-room> element); like proto, it imports nothing of the project.
	{"web", nil},
}

// cgoOK are the only places cgo may live (hw's root must stay cgo-free so the
// daemon can map device errors without linking miniaudio), and
// internal/timerslack, whose C constructor must run before Go's runtime
// starts a thread (only cmd/voipd links it), and internal/ccall, cgo so that
// it is never linked without cgo (its calls need a thread's C stack), with
// its tests' C in ccalltest.
func cgoOK(rel string) bool {
	return strings.HasPrefix(rel, "codec/") || strings.HasPrefix(rel, "hw/") || rel == "internal/timerslack" ||
		rel == "internal/ccall" || rel == "internal/ccall/ccalltest"
}

func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

func rule(from string) ([]string, bool) {
	for _, a := range allowed {
		if from == a.from || (strings.HasSuffix(a.from, "/") && strings.HasPrefix(from, a.from)) ||
			strings.HasPrefix(from, a.from+"/") {
			return a.to, true
		}
	}
	return nil, false
}

func permitted(to string, prefixes []string) bool {
	for _, p := range prefixes {
		if p == "" || to == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(to, p)) ||
			strings.HasPrefix(to, p+"/") {
			return true
		}
	}
	return false
}

func TestImportDirection(t *testing.T) {
	checked := 0
	for _, p := range list(t) {
		from, _ := rel(p.ImportPath)
		to, ok := rule(from)
		if !ok {
			t.Errorf("%s: no import rule covers this package; add it to archtest.allowed", from)
			continue
		}
		for _, imp := range p.Imports {
			r, ours := rel(imp)
			if !ours {
				continue
			}
			checked++
			if !permitted(r, to) {
				t.Errorf("%s imports %s: not allowed by docs/ARCHITECTURE.md (Imports)", from, r)
			}
		}
	}
	t.Logf("%d project imports checked", checked)
}

// daemon may import hw's and media's roots (device kinds, the pipelines'
// contract) but never a backend or the pipelines: those are cgo.
func TestDaemonSeesOnlyCgoFreeRoots(t *testing.T) {
	for _, p := range list(t) {
		from, _ := rel(p.ImportPath)
		if from != "daemon" && !strings.HasPrefix(from, "daemon/") {
			continue
		}
		for _, imp := range p.Imports {
			if r, ok := rel(imp); ok && (strings.HasPrefix(r, "hw/") || strings.HasPrefix(r, "media/")) && r != "media/settings" {
				t.Errorf("%s imports %s: daemon may only use the cgo-free roots of hw and media", from, r)
			}
		}
	}
}

func TestCgoOnlyInCodecAndHW(t *testing.T) {
	for _, p := range list(t) {
		from, _ := rel(p.ImportPath)
		if len(p.CgoFiles) > 0 && !cgoOK(from) {
			t.Errorf("%s uses cgo (%s); cgo belongs in codec/ or hw/ subpackages only", from, strings.Join(p.CgoFiles, ", "))
		}
	}
}

func TestEveryPackageHasDoc(t *testing.T) {
	for _, p := range list(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("%s has no package doc comment", p.ImportPath)
		}
	}
}

func TestRulesMatch(t *testing.T) {
	cases := []struct {
		from, to string
		ok       bool
	}{
		{"daemon", "room", true},
		{"daemon", "media", true},
		{"daemon", "media/pipeline", true}, // allowed by prefix; TestDaemonSeesOnlyCgoFreeRoots refuses it
		{"media", "codec/opus", false},
		{"media", "codec/dsp", true},
		{"media/pipeline", "codec/opus", true},
		{"media/pipeline", "media", true},
		{"daemon/control", "proto", true},
		{"media", "room", false},
		{"room", "roomd", false},
		{"roomd", "room", false},
		{"hw/audio", "hw", true},
		{"hw/audio", "codec/opus", false},
		{"codec/opus", "hw", false},
		{"cmd/voipd", "media", true},
		{"proto", "hw", false},
		{"roomd", "web", true},
		{"daemon/display", "web", true},
		{"web", "proto", false},
		{"media", "web", false},
		{"room", "web", false},
		{"intercept", "nack", true},
		{"nack", "intercept", false},
		{"room", "proto/rtpcodecs", true},
		{"roomd", "proto/rtpcodecs", true},
		{"roomd/lkgate", "roomd", true},
		{"roomd/lkgate", "room", false},
		{"proto", "proto/rtpcodecs", false},
		{"proto/rtpcodecs", "proto", false},
	}
	for _, c := range cases {
		to, _ := rule(c.from)
		if got := permitted(c.to, to); got != c.ok {
			t.Errorf("%s → %s: permitted = %v, want %v", c.from, c.to, got, c.ok)
		}
	}
}

// deps is `go list -deps` of the package at dir (relative to the module's
// root): every package it links, the standard library's included.
func deps(t *testing.T, dir string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", dir)
	cmd.Dir = "../.."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", dir, err, stderr.String())
	}
	return strings.Fields(string(out))
}

// proto is JSON messages and HMAC signatures: importing it (voipctl does,
// to sign joins) must not link pion. The codecs in pion's types live in
// proto/rtpcodecs for that reason.
func TestProtoLinksNoPion(t *testing.T) {
	for _, d := range deps(t, "./proto") {
		if strings.HasPrefix(d, "github.com/pion/") {
			t.Errorf("proto links %s", d)
		}
	}
}

// voipctl talks JSON over a Unix socket and signs joins: it links no pion
// package (it reads voipd's config, whose media limits come from
// media/settings, not from media's pion-typed contract).
func TestVoipctlLinksNoPion(t *testing.T) {
	for _, d := range deps(t, "./cmd/voipctl") {
		if strings.HasPrefix(d, "github.com/pion/") {
			t.Errorf("voipctl links %s", d)
		}
	}
}

// roomd's LiveKit gateway (roomd/lkgate) is roomd's command's alone: voipd,
// which embeds roomd, links neither LiveKit's protocol nor a Redis client
// for it (its binary and memory stay as they were).
func TestVoipdLinksNoGateway(t *testing.T) {
	n := 0
	for _, d := range deps(t, "./cmd/voipd") {
		if strings.HasPrefix(d, "github.com/livekit/") || strings.HasPrefix(d, "github.com/redis/") || d == module+"/roomd/lkgate" {
			t.Errorf("voipd links %s", d)
		}
		n++
	}
	if n < 50 {
		t.Fatalf("go list -deps ./cmd/voipd listed only %d packages", n)
	}
}
