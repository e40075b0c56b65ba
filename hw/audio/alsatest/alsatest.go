// Package alsatest builds and registers a small ALSA PCM plugin for tests:
// "voipdtest", whose open fails with EBUSY, ENOENT or EACCES on demand and
// which otherwise captures paced silence and consumes playback at 48 kHz
// (docs/ARCHITECTURE.md, "Devices without hardware"). Through miniaudio's
// ALSA backend those errnos reach Go as malgo.ErrBusy, ErrDoesNotExist and
// ErrAccessDenied, so the device-error chain (hw kinds, the daemon's error
// codes) can be tested for real on a machine with no sound card.
//
// ALSA reads ALSA_CONFIG_PATH when it first loads its configuration in a
// process, so set it before any ALSA use: best in a child process (a voipd
// under test, or the test binary re-executed with -test.run) given Env().
//
//	p := alsatest.Build(t)
//	cmd.Env = append(os.Environ(), p.Env()...)
//	p.SetBusy(true) // the next open of "voipdtest" fails with EBUSY
package alsatest

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

//go:embed csrc/voipdtest.c
var pluginSource []byte

// PCMName is the ALSA PCM the configuration defines.
const PCMName = "voipdtest"

// Environment variables Env sets; FromEnv reads them back in a child.
const (
	EnvConfigPath = "ALSA_CONFIG_PATH"
	EnvStateDir   = "VOIPD_ALSATEST_STATE_DIR"
)

// Plugin is a built voipdtest plugin and the ALSA configuration using it.
type Plugin struct {
	ConfigPath string // an ALSA configuration file: the system's plus voipdtest
	PCM        string // the PCM name to open: "voipdtest"
	StateDir   string // files here (busy, absent, denied) make open fail
	Library    string // the built plugin
}

// Build compiles the plugin with gcc into a temp dir and writes the ALSA
// configuration for it. It fails the test, naming the Debian packages, when
// gcc or the ALSA headers are missing.
func Build(t testing.TB) *Plugin {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatalf("alsatest: gcc not found: install the Debian package gcc")
	}
	if _, err := os.Stat("/usr/include/alsa/pcm_external.h"); err != nil {
		t.Fatalf("alsatest: ALSA headers not found: install the Debian package libasound2-dev")
	}
	dir := t.TempDir()
	p := &Plugin{
		ConfigPath: filepath.Join(dir, "asound.conf"),
		PCM:        PCMName,
		StateDir:   filepath.Join(dir, "state"),
		Library:    filepath.Join(dir, "libasound_module_pcm_voipdtest.so"),
	}
	if err := os.Mkdir(p.StateDir, 0o755); err != nil {
		t.Fatalf("alsatest: %v", err)
	}
	src := filepath.Join(dir, "voipdtest.c")
	if err := os.WriteFile(src, pluginSource, 0o644); err != nil {
		t.Fatalf("alsatest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gcc", "-Wall", "-fPIC", "-DPIC", "-shared",
		"-o", p.Library, src, "-lasound").CombinedOutput()
	if err != nil {
		t.Fatalf("alsatest: gcc: %v\n%s", err, out)
	}
	if err := os.WriteFile(p.ConfigPath, []byte(p.config()), 0o644); err != nil {
		t.Fatalf("alsatest: %v", err)
	}
	return p
}

// config is the ALSA configuration: the system's own (so "default", "null"
// and the pulse plugin keep working), the plugin type, and the PCM with a
// hint so that device enumeration lists it.
func (p *Plugin) config() string {
	return fmt.Sprintf(`</usr/share/alsa/alsa.conf>

pcm_type.%[1]s {
	lib %[2]q
}

pcm.%[1]s {
	type %[1]s
	state_dir %[3]q
	hint {
		show on
		description "voipd test PCM"
	}
}
`, PCMName, p.Library, p.StateDir)
}

// FromEnv returns the Plugin a parent process described with Env, for a
// child that runs the tests. It fails the test if the variables are unset.
func FromEnv(t testing.TB) *Plugin {
	t.Helper()
	cfg, dir := os.Getenv(EnvConfigPath), os.Getenv(EnvStateDir)
	if cfg == "" || dir == "" {
		t.Fatalf("alsatest: %s and %s must be set (by Plugin.Env)", EnvConfigPath, EnvStateDir)
	}
	return &Plugin{ConfigPath: cfg, PCM: PCMName, StateDir: dir}
}

// Env returns the environment for a process that should see the plugin:
// ALSA_CONFIG_PATH, and the state dir for FromEnv.
func (p *Plugin) Env() []string {
	return []string{EnvConfigPath + "=" + p.ConfigPath, EnvStateDir + "=" + p.StateDir}
}

// SetBusy makes the next opens fail with EBUSY (true) or not (false).
func (p *Plugin) SetBusy(on bool) error { return p.set("busy", on) }

// SetAbsent makes the next opens fail with ENOENT (true) or not (false).
func (p *Plugin) SetAbsent(on bool) error { return p.set("absent", on) }

// SetDenied makes the next opens fail with EACCES (true) or not (false).
func (p *Plugin) SetDenied(on bool) error { return p.set("denied", on) }

func (p *Plugin) set(name string, on bool) error {
	path := filepath.Join(p.StateDir, name)
	if on {
		return os.WriteFile(path, nil, 0o644)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
