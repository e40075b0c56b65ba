package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestManPagesMatchFlags: every flag a command's -h lists (and its
// subcommands') has its entry in the command's man page, and every option
// the man page lists (a .TP entry) is a flag the command has, so the pages
// the packages install stay true to the binaries.
func TestManPagesMatchFlags(t *testing.T) {
	dir := t.TempDir()
	goBuild(t, os.Environ(), dir+"/", "./cmd/voipd", "./cmd/voipctl", "./cmd/roomd")
	flagLine := regexp.MustCompile(`(?m)^  -([a-zA-Z][a-zA-Z-]*)`)
	usageFlag := regexp.MustCompile(`\[-([a-zA-Z][a-zA-Z-]*) [A-Z]+\]`)
	optLine := regexp.MustCompile(`(?m)^\.TP\n\.BI? \\-([a-zA-Z\\-]+)`)
	for _, c := range []struct {
		page string
		runs [][]string
	}{
		{"voipd", [][]string{{"-h"}}},
		{"voipctl", [][]string{{"-h"}, {"sign", "-h"}}},
		{"roomd", [][]string{{"-h"}, {"sign", "-h"}, {"token", "-h"}}},
	} {
		man, err := os.ReadFile(filepath.Join("man", c.page+".1"))
		if err != nil {
			t.Fatal(err)
		}
		page := string(man)
		flags := map[string]bool{}
		for _, args := range c.runs {
			out, _ := exec.Command(filepath.Join(dir, c.page), args...).CombinedOutput()
			for _, m := range flagLine.FindAllStringSubmatch(string(out), -1) {
				flags[m[1]] = true
			}
			// voipctl's usage names its flags in its synopsis.
			for _, m := range usageFlag.FindAllStringSubmatch(string(out), -1) {
				flags[m[1]] = true
			}
		}
		if len(flags) == 0 {
			t.Fatalf("%s -h listed no flags", c.page)
		}
		for f := range flags {
			if !strings.Contains(page, `\-`+strings.ReplaceAll(f, "-", `\-`)) {
				t.Errorf("%s.1 does not describe -%s", c.page, f)
			}
		}
		for _, m := range optLine.FindAllStringSubmatch(page, -1) {
			f := strings.ReplaceAll(m[1], `\-`, "-")
			if !flags[f] {
				t.Errorf("%s.1 describes -%s, which %s does not have", c.page, f, c.page)
			}
		}
	}
}
