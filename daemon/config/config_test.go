package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/proto"
)

// The repository's config.toml must load and say exactly the defaults.
func TestRepoConfigIsTheDefaults(t *testing.T) {
	c, err := Load(filepath.Join("..", "..", "config.toml"))
	if err != nil {
		t.Fatalf("repo config.toml: %v", err)
	}
	c.Room.ICEServers = nil // decoded as an empty list
	d := Default()
	if c.Embedded.PublicIPs != nil && len(c.Embedded.PublicIPs) == 0 {
		c.Embedded.PublicIPs = nil
	}
	if !reflect.DeepEqual(c, d) {
		t.Fatalf("config.toml differs from Default():\n file %+v\n code %+v", c, d)
	}
}

func TestStrictErrorsNameKeyAndLine(t *testing.T) {
	cases := []struct {
		name, toml string
		want       []string
	}{
		{"unknown key", "[audio]\nbackend = \"null\"\nbakend = \"alsa\"\n", []string{"line 3", "audio.bakend"}},
		{"unknown table", "[nope]\nx = 1\n", []string{"nope"}},
		{"wrong type", "[opus]\nbitrate = \"fast\"\n", []string{"line 2", "opus.bitrate"}},
		{"bad duration", "[room]\njoinTimeout = \"soon\"\n", []string{"joinTimeout", "duration"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.toml))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(`
[audio]
backend = "oss"
capture = "tone:-5"
[opus]
bitrate = 1
[room]
url = "http://x"
[scopes]
record = ["wheel"]
`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, key := range []string{"audio.backend", "audio.capture", "opus.bitrate", "room.url", "scopes.record"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
}

func TestSecretsRefusedWhenReadable(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(p, []byte("[identity]\nsessionKey = \"k\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("world-readable config with a secret: err = %v", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(p); err != nil || c.Identity.SessionKey != "k" {
		t.Fatalf("mode 600: %v", err)
	}
	kf := filepath.Join(dir, "key")
	if err := os.WriteFile(kf, []byte("filekey\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p2 := filepath.Join(dir, "c2.toml")
	if err := os.WriteFile(p2, []byte("[identity]\nsessionKeyFile = \""+kf+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p2); err == nil || !strings.Contains(err.Error(), "identity.sessionKeyFile") {
		t.Fatalf("world-readable key file: err = %v", err)
	}
	if err := os.Chmod(kf, 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := Load(p2); err != nil || c.Identity.SessionKey != "filekey" {
		t.Fatalf("key file: %v %+v", err, c)
	}
}

func TestEmbeddedDerivesSessionKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[identity]\nopenid = \"x\"\n[embedded]\nappSecret = \"s3\"\n"), 0o600)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Identity.SessionKey != proto.SessionKey("s3", "x") {
		t.Fatalf("session key %q not derived from the embedded secret", c.Identity.SessionKey)
	}
}

// TestVideoCPUUsed: libvpx's realtime speed takes -16..-1 (fixed) and 1..16
// (adaptive); 0 and values beyond are refused by name.
func TestVideoCPUUsed(t *testing.T) {
	for _, tc := range []struct {
		v  int
		ok bool
	}{{-16, true}, {-6, true}, {-1, true}, {1, true}, {16, true}, {0, false}, {-17, false}, {17, false}} {
		_, err := Parse([]byte(fmt.Sprintf("[video]\ncpuUsed = %d\n", tc.v)))
		if tc.ok && err != nil {
			t.Errorf("cpuUsed %d refused: %v", tc.v, err)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "video.cpuUsed")) {
			t.Errorf("cpuUsed %d: error %v, want one naming video.cpuUsed", tc.v, err)
		}
	}
	if Default().Video.CPUUsed != -6 {
		t.Errorf("default cpuUsed %d, want -6 (libwebrtc's speed)", Default().Video.CPUUsed)
	}
}

// TestAudioFrameMs: audio.frameMs takes 10 and 20 (the default) and refuses
// anything else by name, 0 included (the defaults fill the key, so 0 in a
// file is a value, not "unset"). audio.jitterMinMs may go down to one frame
// and no lower: 10 with frameMs = 10, 20 with frameMs = 20.
func TestAudioFrameMs(t *testing.T) {
	if d := Default().Audio; d.FrameMs != 20 || d.JitterMinMs != 20 {
		t.Errorf("default frameMs %d, jitterMinMs %d; want 20 and 20", d.FrameMs, d.JitterMinMs)
	}
	if c, err := Parse([]byte("[audio]\nbackend = \"null\"\n")); err != nil || c.Audio.FrameMs != 20 {
		t.Errorf("a file without frameMs: %v, frameMs %d; want 20", err, c.Audio.FrameMs)
	}
	for _, tc := range []struct {
		frame, jitterMin int
		ok               bool
		key              string // the key the error must name
	}{
		{10, 10, true, ""},
		{10, 20, true, ""}, // the default floor stays valid with 10 ms frames
		{10, 5, false, "audio.jitterMinMs"},
		{20, 20, true, ""},
		{20, 40, true, ""},
		{20, 10, false, "audio.jitterMinMs"}, // below one 20 ms frame
		{0, 20, false, "audio.frameMs"},
		{5, 20, false, "audio.frameMs"},
		{15, 20, false, "audio.frameMs"},
		{40, 40, false, "audio.frameMs"},
		{-10, 20, false, "audio.frameMs"},
	} {
		src := fmt.Sprintf("[audio]\nframeMs = %d\njitterMinMs = %d\n", tc.frame, tc.jitterMin)
		c, err := Parse([]byte(src))
		switch {
		case tc.ok && err != nil:
			t.Errorf("frameMs %d, jitterMinMs %d refused: %v", tc.frame, tc.jitterMin, err)
		case tc.ok && (c.Audio.FrameMs != tc.frame || c.Audio.JitterMinMs != tc.jitterMin):
			t.Errorf("frameMs %d, jitterMinMs %d decoded as %d, %d", tc.frame, tc.jitterMin, c.Audio.FrameMs, c.Audio.JitterMinMs)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), tc.key)):
			t.Errorf("frameMs %d, jitterMinMs %d: error %v, want one naming %s", tc.frame, tc.jitterMin, err, tc.key)
		}
	}
}

// TestClickDevicesNeedAPath: the click source and detector log to a file;
// without one the error names the key and shows the form.
func TestClickDevicesNeedAPath(t *testing.T) {
	for _, tc := range []struct{ conf, key, form string }{
		{"[audio]\ncapture = \"click:\"\n", "audio.capture", "click:/"},
		{"[audio]\nplayback = \"detect:\"\n", "audio.playback", "detect:/"},
	} {
		_, err := Parse([]byte(tc.conf))
		if err == nil || !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.form) {
			t.Errorf("%q: error %v, want one naming %s and showing %s…", tc.conf, err, tc.key, tc.form)
		}
	}
	if _, err := Parse([]byte("[audio]\ncapture = \"click:/tmp/c.log\"\nplayback = \"detect:/tmp/d.log\"\n")); err != nil {
		t.Errorf("click and detect with paths refused: %v", err)
	}
}

// TestMetricsLoopbackOnly: metrics.listen is off by default, takes a
// loopback host:port, and refuses anything else naming the key.
func TestMetricsLoopbackOnly(t *testing.T) {
	if Default().Metrics.Listen != "" {
		t.Errorf("metrics on by default: %q", Default().Metrics.Listen)
	}
	for _, ok := range []string{"127.0.0.1:9464", "[::1]:9464", "localhost:9464", "127.0.0.1:0"} {
		if _, err := Parse([]byte("[metrics]\nlisten = \"" + ok + "\"\n")); err != nil {
			t.Errorf("metrics.listen %q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"0.0.0.0:9464", ":9464", "192.0.2.7:9464", "9464", "example.com:9464"} {
		_, err := Parse([]byte("[metrics]\nlisten = \"" + bad + "\"\n"))
		if err == nil || !strings.Contains(err.Error(), "metrics.listen") || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("metrics.listen %q: %v, want a refusal naming the key and loopback", bad, err)
		}
	}
}

// audio.backend takes this system's backends (hw.AudioBackends) and
// refuses another system's, naming the system and the choices.
func TestAudioBackendPerSystem(t *testing.T) {
	for _, b := range hw.AudioBackends {
		if _, err := Parse([]byte("[audio]\nbackend = \"" + b + "\"\n")); err != nil {
			t.Errorf("backend %q: %v", b, err)
		}
	}
	other := "coreaudio"
	if runtime.GOOS == "darwin" {
		other = "alsa"
	}
	_, err := Parse([]byte("[audio]\nbackend = \"" + other + "\"\n"))
	if err == nil {
		t.Fatalf("backend %q accepted on %s", other, runtime.GOOS)
	}
	for _, want := range []string{"audio.backend", other, runtime.GOOS, strings.Join(hw.AudioBackends[:len(hw.AudioBackends)-1], ", ")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}
