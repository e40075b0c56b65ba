package packaging

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/testlock"
	"github.com/voipd/voipd/proto"
)

// armArchs are the ARM targets: Debian's name, GOARCH (and GOARM), the
// cross toolchain's triplet, qemu's user-mode emulator.
var armArchs = []struct {
	deb, goarch, goarm, triplet, qemu string
}{
	{"arm64", "arm64", "", "aarch64-linux-gnu", "qemu-aarch64-static"},
	{"armhf", "arm", "7", "arm-linux-gnueabihf", "qemu-arm-static"},
}

// crossEnv is the environment of a cgo build for an ARM target through
// Debian's cross toolchain (scripts/cross-deps.sh installs it).
func crossEnv(t *testing.T, goarch, goarm, triplet string) []string {
	t.Helper()
	for _, tool := range []string{triplet + "-gcc", triplet + "-pkg-config"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: scripts/cross-deps.sh (make test's deps) installs it", tool)
		}
	}
	env := append(os.Environ(), "CGO_ENABLED=1", "GOOS=linux", "GOARCH="+goarch,
		"CC="+triplet+"-gcc", "CXX="+triplet+"-g++", "PKG_CONFIG="+triplet+"-pkg-config")
	if goarm != "" {
		env = append(env, "GOARM="+goarm)
	}
	return env
}

func goBuild(t *testing.T, env []string, out string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"build", "-tags", "nolibopusfile", "-o", out}, args...)...)
	cmd.Dir = ".."
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", args, err, b)
	}
}

// TestARMUnderEmulation (issue 17): make deb's arm64 and armhf packages
// pass lintian, and the voipd in them runs under qemu-user-static, joins a
// room on an amd64 roomd with an amd64 voipd, and each hears the other
// (synthetic tones, getStats on both sides); and the codec packages' tests, cross-compiled, pass under
// the same emulation. Emulated timings mean nothing and none are reported.
func TestARMUnderEmulation(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the ARM toolchains are installed by scripts/cross-deps.sh as root, as CI runs it")
	}
	// qemu and the cross-builds saturate both cores: not beside the
	// real-time audio measurements (cmd/voipd's echo tests).
	testlock.Heavy(t)
	secret := "00112233445566778899aabbccddeeff"
	url := startRoomd(t, secret)

	dir := t.TempDir()
	host := filepath.Join(dir, "voipd-amd64")
	goBuild(t, os.Environ(), host, "./cmd/voipd")

	for _, a := range armArchs {
		t.Run(a.deb, func(t *testing.T) {
			if _, err := exec.LookPath(a.qemu); err != nil {
				t.Fatalf("%s is missing: scripts/cross-deps.sh installs qemu-user-static", a.qemu)
			}
			// The voipd make deb packages for the architecture, as a
			// vendor installs it: built, checked by lintian, unpacked.
			crossEnv(t, a.goarch, a.goarm, a.triplet) // the toolchain is there
			debs := build(t, a.deb, "1.0.0", filepath.Join(dir, "dist-"+a.deb))
			lintianClean(t, debs...)
			root := filepath.Join(dir, "root-"+a.deb)
			if out, err := exec.Command("dpkg-deb", "-x", debs[0], root).CombinedOutput(); err != nil {
				t.Fatalf("dpkg-deb -x %s: %v\n%s", debs[0], err, out)
			}
			bin := filepath.Join(root, "usr/bin/voipd")
			if out, _ := exec.Command("file", bin).Output(); !strings.Contains(string(out), map[string]string{"arm64": "aarch64", "armhf": "ARM, EABI5"}[a.deb]) {
				t.Fatalf("%s is not an %s binary: %s", bin, a.deb, out)
			}

			group := "arm-" + a.deb
			arm := startVoipd(t, []string{a.qemu, bin}, "panel-"+a.deb, secret, url, 440)
			pc := startVoipd(t, []string{host}, "desk-"+a.deb, secret, url, 1000)
			for _, v := range []*voipd{arm, pc} {
				v.mustJoin(t, group)
			}
			// Each hears the other: packets arrive, are decoded, and are
			// loud (the tones), on both sides.
			deadline := time.Now().Add(60 * time.Second) // emulation is slow
			for {
				ok1, s1 := arm.hears(t, pc.openid)
				ok2, s2 := pc.hears(t, arm.openid)
				if ok1 && ok2 {
					t.Logf("%s voipd under %s hears the amd64 one: %s; and is heard: %s", a.deb, a.qemu, s1, s2)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 60 s: %s hears amd64: %v (%s); amd64 hears %s: %v (%s)", a.deb, ok1, s1, a.deb, ok2, s2)
				}
				time.Sleep(500 * time.Millisecond)
			}
		})
	}

	// The codec tests, cross-compiled, under emulation.
	pkgs := []string{"./internal/ccall", "./codec/opus", "./codec/vp8", "./codec/yuv", "./codec/mjpeg", "./codec/apm", "./codec/dsp", "./codec/opusrtp", "./codec/vp8rtp", "./hw/audio"}
	// hw/audio's tests on miniaudio's null backend and its rings: the
	// speaker's C callback finds its place in miniaudio's ma_device by a
	// layout that differs between 32- and 64-bit ABIs. (Its PulseAudio and
	// ALSA tests need a server and a PCM configured on the host.)
	runOnly := map[string]string{"./hw/audio": "TestNull|TestSpeaker|TestMic|TestCallbackCopyAllocs|TestRing|TestClose|TestLateness"}
	for _, a := range armArchs {
		t.Run(a.deb+"/codec", func(t *testing.T) {
			env := crossEnv(t, a.goarch, a.goarm, a.triplet)
			tests := filepath.Join(dir, "tests-"+a.deb)
			if err := os.MkdirAll(tests, 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("go", append([]string{"test", "-c", "-tags", "nolibopusfile", "-o", tests + "/"}, pkgs...)...)
			cmd.Dir, cmd.Env = "..", env
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go test -c for %s: %v\n%s", a.deb, err, b)
			}
			for _, p := range pkgs {
				name := filepath.Base(p) + ".test"
				args := []string{filepath.Join(tests, name), "-test.count=1"}
				if r := runOnly[p]; r != "" {
					args = append(args, "-test.run", r)
				}
				run := exec.Command(a.qemu, args...)
				// The tests read their testdata relative to their package.
				run.Dir = filepath.Join("..", p)
				out, err := run.CombinedOutput()
				if err != nil {
					t.Errorf("%s under %s: %v\n%s", name, a.qemu, err, out)
					continue
				}
				t.Logf("%s %s: %s", a.deb, p, strings.TrimSpace(lastLine(string(out))))
			}
		})
	}
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// voipd is a voipd process the test started and its control socket.
type voipd struct {
	openid, secret string
	socket         string
	cmd            *exec.Cmd
	out            *strings.Builder
}

// startVoipd starts argv (a voipd, maybe behind qemu) as openid with a
// tone of freq Hz as its microphone and no speaker.
func startVoipd(t *testing.T, argv []string, openid, secret, url string, freq float64) *voipd {
	t.Helper()
	dir, err := os.MkdirTemp("", "vp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte(proto.SessionKey(secret, openid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	v := &voipd{openid: openid, secret: secret, socket: filepath.Join(dir, "c.sock"), out: &strings.Builder{}}
	cfg := fmt.Sprintf(`[identity]
appId = %q
openid = %q
sessionKeyFile = %q
[room]
url = %q
joinTimeout = "60s"
[control]
socket = %q
[audio]
backend = "null"
capture = "tone:%g"
playback = "null"
[display]
listen = ""
`, testApp, openid, key, url, v.socket, freq)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	v.cmd = exec.Command(argv[0], append(argv[1:], "-config", path)...)
	v.cmd.Stdout, v.cmd.Stderr = &lockedWriter{b: v.out}, &lockedWriter{b: v.out}
	if err := v.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		v.cmd.Process.Kill()
		v.cmd.Wait()
		if t.Failed() {
			t.Logf("%s's output:\n%s", openid, v.out.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.Dial("unix", v.socket); err == nil {
			c.Close()
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's control socket did not appear in 60 s", openid)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call makes one JSON-RPC call on the control socket.
func (v *voipd) call(t *testing.T, method string, params any) (map[string]any, map[string]any) {
	t.Helper()
	c, err := net.Dial("unix", v.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(90 * time.Second))
	req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if _, err := c.Write(append(req, '\n')); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadBytes('\n')
	if err != nil {
		t.Fatalf("%s %s: %v", v.openid, method, err)
	}
	var res struct {
		Result map[string]any
		Error  map[string]any
	}
	if err := json.Unmarshal(line, &res); err != nil {
		t.Fatalf("%s %s: %v: %s", v.openid, method, err, line)
	}
	return res.Result, res.Error
}

func (v *voipd) mustJoin(t *testing.T, group string) {
	t.Helper()
	nonce, ts := "n"+fmt.Sprint(time.Now().UnixNano()), time.Now().Unix()
	key := proto.SessionKey(v.secret, v.openid)
	_, e := v.call(t, "joinVoIPChat", map[string]any{"groupId": group, "nonceStr": nonce, "timeStamp": ts,
		"signature": proto.Signature(testApp, group, nonce, ts, key)})
	if e != nil {
		t.Fatalf("%s joinVoIPChat: %v", v.openid, e)
	}
}

// hears reports whether v receives, decodes and hears member's audio,
// and what its stats say.
func (v *voipd) hears(t *testing.T, member string) (bool, string) {
	t.Helper()
	r, e := v.call(t, "getStats", nil)
	if e != nil {
		return false, fmt.Sprint(e)
	}
	in, _ := r["inbound"].([]any)
	for _, x := range in {
		s, _ := x.(map[string]any)
		if s["member"] != member || s["kind"] != "audio" {
			continue
		}
		recv, _ := s["packetsReceived"].(float64)
		dec, _ := s["framesDecoded"].(float64)
		level, _ := s["audioLevel"].(float64)
		return recv > 50 && dec > 50 && level > 0, fmt.Sprintf("%.0f packets, %.0f frames decoded, level %.3f", recv, dec, level)
	}
	return false, "no stream from " + member
}

// lockedWriter lets a process's stdout and stderr share one builder.
type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
