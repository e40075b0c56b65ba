package packaging

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/testlock"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
)

const testApp = "wx20afc706a711eefc"

// build runs deb/build.sh for arch with VERSION=version into dir.
func build(t *testing.T, arch, version, dir string) []string {
	t.Helper()
	cmd := exec.Command("deb/build.sh", arch, dir)
	cmd.Env = append(os.Environ(), "VERSION="+version)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("build.sh %s: %v\n%s", arch, err, out)
	}
	return strings.Fields(string(out))
}

func needRoot(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the packaging tests install packages (into an overlay of /) and need root, as CI runs them")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: scripts/deps.sh installs it", tool)
		}
	}
}

// TestPackagesInstallUpgradePurge (issue 17): make deb's amd64 packages pass
// lintian without errors or warnings (TestARMUnderEmulation checks the ARM
// ones), and
// install, run, upgrade, remove and purge as an operator would
// (deb/install-test.sh, in an overlay of this machine's root): the user is
// made, files have their owners and modes, voipd started as that user
// answers status and joins a room on a roomd, the operator's config
// survives the upgrade and the remove, and after purge nothing is left.
func TestPackagesInstallUpgradePurge(t *testing.T) {
	needRoot(t, "dpkg-deb", "dpkg-shlibdeps", "lintian", "unshare", "setpriv")
	// Two cgo builds, xz and lintian take both cores for minutes: not
	// beside the real-time audio measurements (the echo test failed in CI
	// twice, each time right after the ARM test, while this one ran).
	testlock.Heavy(t)
	dist := t.TempDir()
	a := build(t, "amd64", "1.0.0", filepath.Join(dist, "a"))
	b := build(t, "amd64", "1.0.1", filepath.Join(dist, "b"))
	// install-test.sh's names: voipd_*_A.deb, voipd_*_B.deb, roomd_*.deb.
	for _, f := range []struct{ from, to string }{{a[0], "voipd_1.0.0_amd64_A.deb"}, {b[0], "voipd_1.0.1_amd64_B.deb"}, {a[1], "roomd_1.0.0_amd64.deb"}} {
		if err := os.Rename(f.from, filepath.Join(dist, f.to)); err != nil {
			t.Fatal(err)
		}
	}

	lintianClean(t, filepath.Join(dist, "voipd_1.0.0_amd64_A.deb"), filepath.Join(dist, "roomd_1.0.0_amd64.deb"))

	secret := "0123456789abcdef0123456789abcdef"
	url := startRoomd(t, secret)
	cmd := exec.Command("deb/install-test.sh", dist, url, proto.SessionKey(secret, "pkg"))
	res, err := cmd.CombinedOutput()
	t.Logf("install-test.sh:\n%s", res)
	if err != nil {
		t.Errorf("install-test.sh: %v", err)
	}
}

// lintianClean fails t on any error or warning lintian reports on debs
// (packaging/README.md lists none as accepted).
func lintianClean(t *testing.T, debs ...string) {
	t.Helper()
	out, err := exec.Command("lintian", append([]string{"--tag-display-limit", "0"}, debs...)...).CombinedOutput()
	if err != nil && len(out) == 0 {
		t.Fatalf("lintian: %v", err)
	}
	var checked []string
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.HasPrefix(l, "E: "):
			t.Errorf("lintian: %s", l)
		case strings.HasPrefix(l, "W: "):
			t.Errorf("lintian warning (packaging/README.md accepts none): %s", l)
		}
	}
	for _, d := range debs {
		checked = append(checked, filepath.Base(d))
	}
	t.Logf("lintian: no errors or warnings on %s", strings.Join(checked, ", "))
}

// startRoomd runs a roomd on 127.0.0.1 for the test's app with secret
// and returns its WebSocket URL.
func startRoomd(t *testing.T, secret string) string {
	t.Helper()
	srv, err := roomd.New(roomd.Config{Listen: "127.0.0.1:0", Apps: []roomd.App{{ID: testApp, Secret: secret}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return "ws" + strings.TrimPrefix(srv.URL(), "http") + "/ws"
}
