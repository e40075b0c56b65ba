package packaging

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// plistValue decodes one property-list value after its start element:
// string, integer, true/false, array or dict.
func plistValue(d *xml.Decoder, start xml.StartElement) (any, error) {
	switch start.Name.Local {
	case "string", "integer":
		var s string
		if err := d.DecodeElement(&s, &start); err != nil {
			return nil, err
		}
		if start.Name.Local == "integer" {
			return strconv.Atoi(strings.TrimSpace(s))
		}
		return s, nil
	case "true", "false":
		return start.Name.Local == "true", d.Skip()
	case "array", "dict":
		var items []any
		for {
			tok, err := d.Token()
			if err != nil {
				return nil, err
			}
			switch t := tok.(type) {
			case xml.StartElement:
				v, err := plistValue(d, t)
				if err != nil {
					return nil, err
				}
				items = append(items, v)
			case xml.EndElement:
				if start.Name.Local == "array" {
					return items, nil
				}
				if len(items)%2 != 0 {
					return nil, fmt.Errorf("dict with %d items: a key without a value", len(items))
				}
				m := map[string]any{}
				for i := 0; i < len(items); i += 2 {
					k, ok := items[i].(string)
					if !ok {
						return nil, fmt.Errorf("dict key %v is not a string", items[i])
					}
					m[k] = items[i+1]
				}
				return m, nil
			}
		}
	case "key":
		var s string
		return s, d.DecodeElement(&s, &start)
	}
	return nil, fmt.Errorf("unknown plist element <%s>", start.Name.Local)
}

// readPlist decodes a property list's top dict.
func readPlist(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			t.Fatalf("%s: no <plist>", path)
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "plist" {
			break
		}
	}
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			v, err := plistValue(d, se)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s: the plist holds %T, want a dict", path, v)
			}
			return m
		}
	}
}

// The launchd agent runs voipd as voipd.service does: the same flags, the
// same stop timeout, restarted on failure, with a state directory.
func TestLaunchdAgent(t *testing.T) {
	p := readPlist(t, "macos/org.voipd.voipd.plist")
	unit, err := os.ReadFile("../systemd/voipd.service")
	if err != nil {
		t.Fatal(err)
	}
	exec := regexp.MustCompile(`(?m)^ExecStart=(\S+)\s+(.*)$`).FindSubmatch(unit)
	stop := regexp.MustCompile(`(?m)^TimeoutStopSec=(\d+)s$`).FindSubmatch(unit)
	if exec == nil || stop == nil {
		t.Fatal("voipd.service: no ExecStart= or TimeoutStopSec=Ns")
	}

	if p["Label"] != "org.voipd.voipd" {
		t.Errorf("Label = %v", p["Label"])
	}
	args, _ := p["ProgramArguments"].([]any)
	var argv []string
	for _, a := range args {
		s, _ := a.(string)
		argv = append(argv, s)
	}
	unitFlags := strings.Fields(string(exec[2]))
	if len(argv) != len(unitFlags)+1 || !strings.HasSuffix(argv[0], "/voipd") ||
		argv[1] != unitFlags[0] || !strings.HasSuffix(argv[len(argv)-1], "/voipd/config.toml") {
		t.Errorf("ProgramArguments = %q, want voipd and the unit's flags %q (its own config path)", argv, unitFlags)
	}
	if want, _ := strconv.Atoi(string(stop[1])); p["ExitTimeOut"] != want {
		t.Errorf("ExitTimeOut = %v, want voipd.service's TimeoutStopSec %d", p["ExitTimeOut"], want)
	}
	keep, _ := p["KeepAlive"].(map[string]any)
	if keep["SuccessfulExit"] != false || p["RunAtLoad"] != true {
		t.Errorf("KeepAlive = %v, RunAtLoad = %v: want restarted when it fails and started at load", p["KeepAlive"], p["RunAtLoad"])
	}
	env, _ := p["EnvironmentVariables"].(map[string]any)
	if dir, _ := env["STATE_DIRECTORY"].(string); !strings.HasPrefix(dir, "/") {
		t.Errorf("STATE_DIRECTORY = %q, want an absolute directory (state.dir's default)", dir)
	}
	for _, k := range []string{"StandardErrorPath", "ProcessType"} {
		if s, _ := p[k].(string); s == "" {
			t.Errorf("%s is missing", k)
		}
	}
	// launchd makes no directory: the README's steps make every one the
	// agent names (its state, its log's, its config's).
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, mac, _ := strings.Cut(string(readme), "\n## macOS\n")
	mac, _, _ = strings.Cut(mac, "\n## ")
	made := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^mkdir -p (.*)$`).FindAllStringSubmatch(mac, -1) {
		for _, d := range strings.Fields(m[1]) {
			made[d] = true
		}
	}
	stateDir, _ := env["STATE_DIRECTORY"].(string)
	logPath, _ := p["StandardErrorPath"].(string)
	for _, d := range []string{stateDir, filepath.Dir(logPath), filepath.Dir(argv[len(argv)-1])} {
		if !made[d] {
			t.Errorf("the plist names %s, which the README's macOS steps do not make (mkdir -p: %v)", d, slices.Sorted(maps.Keys(made)))
		}
	}
	known := []string{"Label", "ProgramArguments", "EnvironmentVariables", "RunAtLoad", "KeepAlive", "ExitTimeOut", "ProcessType", "StandardErrorPath"}
	for k := range p {
		if !slices.Contains(known, k) {
			t.Errorf("key %s is not checked by this test", k)
		}
	}
}
