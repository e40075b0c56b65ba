package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/voipd/voipd/proto"
)

func noEnv(string) string { return "" }

func writeFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
	return p
}

func runSign(t *testing.T, getenv func(string) string, args ...string) (signOutput, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"sign"}, args...), &out, &errb, getenv)
	var so signOutput
	if code == 0 {
		if err := json.Unmarshal(out.Bytes(), &so); err != nil {
			t.Fatalf("output %q: %v", out.String(), err)
		}
	}
	return so, errb.String(), code
}

func TestSignOutputVerifies(t *testing.T) {
	secretFile := writeFile(t, "secret", "file-secret\n", 0o600)
	env := func(k string) string {
		if k == "ROOMD_APP_SECRET" {
			return "env-secret"
		}
		return ""
	}
	tests := []struct {
		name   string
		getenv func(string) string
		args   []string
		secret string
	}{
		{"flag", noEnv, []string{"-app-id", "wxapp", "-app-secret", "flag-secret"}, "flag-secret"},
		{"file", noEnv, []string{"-app-id", "wxapp", "-app-secret-file", secretFile}, "file-secret"},
		{"env", env, []string{"-app-id", "wxapp"}, "env-secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			so, stderr, code := runSign(t, tc.getenv, append(tc.args, "-openid", "door-1", "-groupId", "g1")...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if so.OpenID != "door-1" || so.GroupID != "g1" || so.SessionKey != proto.SessionKey(tc.secret, "door-1") {
				t.Fatalf("output %+v", so)
			}
			if !proto.VerifySignature(so.Signature, "wxapp", so.GroupID, so.NonceStr, so.TimeStamp, so.SessionKey) {
				t.Fatal("signature does not verify")
			}
		})
	}
}

func TestSecretFilesMustBePrivate(t *testing.T) {
	open := writeFile(t, "secret", "s", 0o644)
	_, stderr, code := runSign(t, noEnv, "-app-id", "a", "-app-secret-file", open, "-openid", "o", "-groupId", "g")
	if code == 0 || !strings.Contains(stderr, open) {
		t.Fatalf("world-readable secret file: exit %d, stderr %q (want the file named)", code, stderr)
	}
	cfg := writeFile(t, "roomd.toml", "[[apps]]\nid = \"a\"\nsecret = \"s\"\n", 0o640)
	_, stderr, code = runSign(t, noEnv, "-config", cfg, "-openid", "o", "-groupId", "g")
	if code == 0 || !strings.Contains(stderr, cfg) {
		t.Fatalf("group-readable config with a secret: exit %d, stderr %q", code, stderr)
	}
}

func TestConfigFile(t *testing.T) {
	secret := writeFile(t, "secret", "s2", 0o600)
	good := writeFile(t, "roomd.toml", `
listen = "127.0.0.1:0"
dev = true
maxMembers = 4
timestampWindow = "90s"
resumeGrace = "2m"
udpPort = 0
publicIPs = ["203.0.113.7"]
logLevel = "warn"
handshakeTimeout = "5s"
joinRate = 2.5
joinBurst = 40
maxPendingPerAddress = -1

[[apps]]
id = "a1"
secret = "s1"

[[apps]]
id = "a2"
secretFile = "`+secret+`"

[[iceServers]]
urls = ["stun:stun.example.org:3478"]
`, 0o600)
	f := newFlags("roomd", io.Discard)
	f.addServeFlags()
	if err := f.fs.Parse([]string{"-config", good, "-udp-port", "40000", "-join-burst", "50"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.load(noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:0" || !cfg.Dev || cfg.MaxMembers != 4 || cfg.TimestampWindow != 90*time.Second || cfg.ResumeGrace != 2*time.Minute ||
		cfg.UDPPort != 40000 || len(cfg.PublicIPs) != 1 || len(cfg.ICEServers) != 1 ||
		len(cfg.Apps) != 2 || cfg.Apps[1].Secret != "s2" {
		t.Fatalf("config = %+v", cfg)
	}
	if cfg.HandshakeTimeout != 5*time.Second || cfg.JoinRate != 2.5 || cfg.JoinBurst != 50 || cfg.MaxPendingPerAddress != -1 {
		t.Fatalf("abuse limits: handshakeTimeout %v, joinRate %v, joinBurst %d (the flag's 50), maxPendingPerAddress %d",
			cfg.HandshakeTimeout, cfg.JoinRate, cfg.JoinBurst, cfg.MaxPendingPerAddress)
	}

	tests := []struct{ content, want string }{
		{"listen = \"x\"\nlisten_addr = \"y\"\n", "listen_addr"},
		{"[[apps]]\nid = \"a\"\nsecert = \"s\"\n", "apps.secert"},
		{"timestampWindow = \"soon\"\n", "timestampWindow"},
		{"maxMembers = \"ten\"\n", "maxMembers"},
		{"joinRate = \"fast\"\n", "joinRate"},
		{"handshakeTimeout = \"soon\"\n", "handshakeTimeout"},
		{"logLevel = \"loud\"\n[[apps]]\nid = \"a\"\nsecretFile = \"" + secret + "\"\n", "logLevel"},
		{"listen = \"127.0.0.1:0\"\n", "no app"},
	}
	for _, tc := range tests {
		p := writeFile(t, "bad.toml", tc.content, 0o600)
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		code := run(ctx, []string{"-config", p}, &out, &errb, noEnv)
		cancel()
		if code == 0 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("config %q: exit %d, stderr %q, want it to name %q", tc.content, code, errb.String(), tc.want)
		}
	}
}

// run serves until its context ends, printing the URL first.
func TestServeUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-app-id", "a", "-app-secret", "s"}, pw, io.Discard, noEnv)
		pw.Close()
	}()
	url := readURL(t, pr)
	go io.Copy(io.Discard, pr)
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
}

// The real binary exits 0 on SIGTERM.
func TestSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "roomd")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "-listen", "127.0.0.1:0", "-app-id", "a")
	cmd.Env = append(os.Environ(), "ROOMD_APP_SECRET=s")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readURL(t, stdout)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v", err)
	}
}

func readURL(t *testing.T, r io.Reader) string {
	t.Helper()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case u := <-line:
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("first line %q is not the URL", u)
		}
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no URL printed")
	}
	return ""
}

func TestPprofSwitch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"-listen", "127.0.0.1:0", "-app-id", "a", "-app-secret", "s", "-pprof", "0.0.0.0:0"}, &out, &errb, func(string) string { return "" })
	if code != 1 || !strings.Contains(errb.String(), "loopback") {
		t.Fatalf("a public pprof address: exit %d, %s", code, errb.String())
	}
}
