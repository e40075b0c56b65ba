package systemd

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var units = []string{"voipd.service", "voipd.socket", "roomd.service"}

// analyze returns the path of systemd-analyze; its absence fails the test,
// since without it the units go unchecked.
func analyze(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatalf("systemd-analyze not found: install Debian's systemd package (apt-get install systemd): %v", err)
	}
	return p
}

// verifiableCopies copies the units into a temp dir with every ExecStart=
// pointed at /bin/true. systemd-analyze verify fails a unit whose
// ExecStart binary does not exist, and /usr/bin/voipd and /usr/bin/roomd are
// only there once the package is installed; everything else in the units
// is checked as shipped.
func verifiableCopies(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	execStart := regexp.MustCompile(`(?m)^ExecStart=.*$`)
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		b = execStart.ReplaceAll(b, []byte("ExecStart=/bin/true"))
		if err := os.WriteFile(filepath.Join(dir, u), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func command(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, analyze(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestUnitsVerify(t *testing.T) {
	dir := verifiableCopies(t)
	for _, u := range units {
		t.Run(u, func(t *testing.T) {
			// verify exits 0 on an unknown key or a bad value and only warns,
			// so any output at all is a failure.
			out, err := command(t, dir, "verify", "--man=no", "./"+u)
			if err != nil || strings.TrimSpace(out) != "" {
				t.Fatalf("systemd-analyze verify %s: %v\n%s", u, err, out)
			}
		})
	}
}

// Exposure scores measured with systemd 252 (Debian 12) when the hardening
// was written: voipd.service 1.7, roomd.service 1.4 (0 = fully confined,
// 10 = unprotected). voipd keeps the network, /dev/snd, /dev/video*, its
// supplementary groups and real-time scheduling for audio; roomd only the
// network. A change that loosens either fails here and must say why.
var maxExposure = map[string]float64{
	"voipd.service": 1.7,
	"roomd.service": 1.4,
}

func TestExposure(t *testing.T) {
	dir := verifiableCopies(t)
	overall := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)
	for unit, limit := range maxExposure {
		t.Run(unit, func(t *testing.T) {
			out, err := command(t, dir, "security", "--offline=true", "./"+unit)
			if err != nil {
				t.Fatalf("systemd-analyze security %s: %v\n%s", unit, err, out)
			}
			m := overall.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no overall exposure level in:\n%s", out)
			}
			score, err := strconv.ParseFloat(m[1], 64)
			if err != nil {
				t.Fatal(err)
			}
			if score > limit {
				t.Errorf("%s exposure %.1f, above the measured %.1f:\n%s", unit, score, limit, out)
			}
		})
	}
}

// TestUnitContract pins the settings other parts of voipd rely on: the
// notify protocol and watchdog sdnotify speaks, the socket path and mode of
// the control API, the command lines of voipd and roomd, and the device
// access of "Under systemd" (all in README.md).
func TestUnitContract(t *testing.T) {
	want := map[string][]string{
		"voipd.service": {
			"Type=notify", "NotifyAccess=main", "WatchdogSec=30s",
			"ExecStart=/usr/bin/voipd -config /etc/voipd/config.toml",
			"User=voipd", "Group=voipd", "SupplementaryGroups=audio video",
			"RuntimeDirectory=voipd", "RuntimeDirectoryMode=0750",
			"TimeoutStopSec=15s", "Restart=on-failure",
			"DevicePolicy=closed", "DeviceAllow=char-alsa rw", "DeviceAllow=char-video4linux rw",
			"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
			"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
			"MemoryDenyWriteExecute=yes", "LockPersonality=yes", "SystemCallFilter=@system-service",
		},
		"voipd.socket": {
			"ListenStream=/run/voipd/control.sock", "SocketMode=0660", "SocketGroup=voipd",
		},
		"roomd.service": {
			"ExecStart=/usr/bin/roomd -config /etc/roomd/config.toml", "DynamicUser=yes",
			"NoNewPrivileges=yes", "ProtectSystem=strict",
		},
	}
	for unit, lines := range want {
		have := settings(t, unit)
		for _, l := range lines {
			if !have[l] {
				t.Errorf("%s lacks %q", unit, l)
			}
		}
	}
}

// settings returns the unit's non-comment lines as a set.
func settings(t *testing.T, unit string) map[string]bool {
	t.Helper()
	f, err := os.Open(unit)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set := make(map[string]bool)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			set[l] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return set
}
