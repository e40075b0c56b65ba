package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"gopkg.in/yaml.v3"

	"github.com/voipd/voipd/internal/lktest"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
)

// The gateway settings come from the [livekit] table or the flags (the
// flags win), the secret from a private file, the environment or the
// flag; a half-set gateway is an error naming what is missing.
func TestGatewayConfig(t *testing.T) {
	secret := writeFile(t, "lksecret", "file-lk-secret\n", 0o600)
	file := writeFile(t, "roomd.toml", `
[[apps]]
id = "a1"
secretFile = "`+secret+`"

[livekit]
url = "ws://lk.example:7880"
apiKey = "K"
apiSecretFile = "`+secret+`"
redis = "unix:/run/redis/redis.sock"
tokenTTL = "2m"
`, 0o600)
	load := func(getenv func(string) string, args ...string) (*flags, error) {
		f := newFlags("roomd", io.Discard)
		f.addServeFlags()
		if err := f.fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		_, err := f.load(getenv, io.Discard)
		return f, err
	}
	f, err := load(noEnv, "-config", file, "-redis", "127.0.0.1:6380")
	if err != nil {
		t.Fatal(err)
	}
	if g := f.gatewayTo; g == nil || g.URL != "ws://lk.example:7880" || g.APIKey != "K" || g.APISecret != "file-lk-secret" ||
		g.Redis != "127.0.0.1:6380" || g.TokenTTL != 2*time.Minute {
		t.Fatalf("gateway config %+v", f.gatewayTo)
	}
	env := func(k string) string {
		if k == "ROOMD_LIVEKIT_API_SECRET" {
			return "env-lk-secret"
		}
		return ""
	}
	f, err = load(env, "-app-id", "a", "-app-secret", "s", "-livekit-url", "wss://lk.example", "-livekit-api-key", "K", "-redis", "r:6379")
	if err != nil || f.gatewayTo == nil || f.gatewayTo.APISecret != "env-lk-secret" {
		t.Fatalf("secret from the environment: %v %+v", err, f.gatewayTo)
	}
	if f, err = load(noEnv, "-app-id", "a", "-app-secret", "s"); err != nil || f.gatewayTo != nil {
		t.Fatalf("no gateway settings: %v, gateway %+v; want roomd's own rooms", err, f.gatewayTo)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-livekit-url", "ws://x", "-livekit-api-key", "K", "-redis", "r:1"}, "API secret"},
		{[]string{"-livekit-url", "ws://x", "-livekit-api-key", "K", "-livekit-api-secret", "S"}, "Redis"},
		{[]string{"-redis", "r:1"}, "LiveKit URL"},
		{[]string{"-livekit-url", "ws://x", "-livekit-api-secret", "S", "-livekit-api-secret-file", secret, "-redis", "r:1"}, "not both"},
	} {
		if _, err := load(noEnv, append([]string{"-app-id", "a", "-app-secret", "s"}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %q", tc.args, err, tc.want)
		}
	}
	// A config file holding the LiveKit secret must be private.
	open := writeFile(t, "open.toml", "[[apps]]\nid = \"a\"\nsecretFile = \""+secret+"\"\n[livekit]\nurl = \"ws://x\"\napiSecret = \"S\"\nredis = \"r:1\"\n", 0o644)
	if _, err := load(noEnv, "-config", open); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable file with the LiveKit secret: %v", err)
	}
}

// roomd -livekit-url ... runs as a gateway: a signed join is answered with
// LiveKit's URL and a token LiveKit accepts.
func TestGatewayMode(t *testing.T) {
	redis := lktest.Redis(t)
	node := lktest.LiveKit(t, redis)
	env := func(k string) string {
		if k == "ROOMD_LIVEKIT_API_SECRET" {
			return lktest.Secret
		}
		return ""
	}
	url, stop := startRoomd(t, []string{"-listen", "127.0.0.1:0", "-app-id", "wxapp", "-app-secret", "s",
		"-livekit-url", node.URL, "-livekit-api-key", lktest.Key, "-redis", redis}, env)
	m := signedJoin(t, url, roomd.App{ID: "wxapp", Secret: "s"})
	if m.Type != proto.TypeLiveKit || m.URL != node.URL {
		t.Fatalf("answer %s %s: want livekit with %s", m.Type, m.Reason, node.URL)
	}
	if err := node.Validate(m.Token); err != nil {
		t.Fatalf("LiveKit refuses the token: %v", err)
	}
	stop()
}

// startRoomd runs roomd's command with args in the background and returns
// the URL it serves and stop, which ends it and checks it exits 0.
func startRoomd(t *testing.T, args []string, env func(string) string) (url string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, args, pw, &stderr, env)
		pw.Close()
	}()
	url = readURL(t, pr)
	go io.Copy(io.Discard, pr)
	return url, func() {
		t.Helper()
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return after cancel")
		}
	}
}

// signedJoin sends the roomd at url door-1's signed join into lobby, as
// app, and returns its answer.
func signedJoin(t *testing.T, url string, app roomd.App) *proto.Message {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sg := roomd.Sign(app, "door-1", "lobby", time.Now())
	b, _ := json.Marshal(&proto.Message{Type: proto.TypeJoin, Kind: proto.KindVoIP, AppID: sg.AppID, OpenID: sg.OpenID,
		GroupID: sg.GroupID, NonceStr: sg.NonceStr, TimeStamp: sg.TimeStamp, Signature: sg.Signature})
	if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, reply, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	m, err := proto.Decode(reply)
	if err != nil {
		t.Fatalf("answer %s: %v", reply, err)
	}
	return m
}

// readmeScaleOut is the README from its "Scale out" section on.
func readmeScaleOut(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), "### Scale out")
	if i < 0 {
		t.Fatal("README.md has no Scale out section")
	}
	return string(b[i:])
}

// The README's gateway config ("Scale out") is one roomd reads: every key
// known, the [livekit] table as gateway mode takes it.
func TestReadmeGatewayConfig(t *testing.T) {
	m := regexp.MustCompile("(?s)```toml\n(.*?)```").FindSubmatch([]byte(readmeScaleOut(t)))
	if m == nil {
		t.Fatal("the Scale out section has no toml block")
	}
	// The secrets live in files the example names; here they are made.
	dir := t.TempDir()
	cfg := string(m[1])
	for _, f := range []string{"/etc/roomd/app-secret", "/etc/roomd/livekit-secret"} {
		p := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(p, []byte("secret-"+filepath.Base(f)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg = strings.ReplaceAll(cfg, f, p)
	}
	path := writeFile(t, "roomd.toml", cfg, 0o600)
	f := newFlags("roomd", io.Discard)
	f.addServeFlags()
	if err := f.fs.Parse([]string{"-config", path}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.load(noEnv, io.Discard); err != nil {
		t.Fatalf("the README's gateway config: %v", err)
	}
	g := f.gatewayTo
	if g == nil || !strings.Contains(g.URL, ",") || g.APIKey == "" || g.APISecret != "secret-livekit-secret" || g.Redis == "" {
		t.Fatalf("gateway config from the README: %+v", g)
	}
}

// The README's two-node example runs: its LiveKit config (two nodes from
// it, with this test's ports, addresses and Redis) and its gateway config
// (served on 127.0.0.1 without TLS, at the two nodes) work together — the
// gateway's apiKey is a key of the nodes', and a signed join gets a token
// both nodes accept.
func TestReadmeLiveKitFleet(t *testing.T) {
	sec := readmeScaleOut(t)
	ym := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(sec)
	tm := regexp.MustCompile("(?s)```toml\n(.*?)```").FindStringSubmatch(sec)
	if ym == nil || tm == nil {
		t.Fatal("the Scale out section lacks its yaml or toml block")
	}
	var lkCfg struct {
		Keys map[string]string `yaml:"keys"`
	}
	if err := yaml.Unmarshal([]byte(ym[1]), &lkCfg); err != nil {
		t.Fatalf("the README's LiveKit config: %v", err)
	}
	apiKey := regexp.MustCompile(`(?m)^apiKey = "([^"]*)"`).FindStringSubmatch(tm[1])
	appID := regexp.MustCompile(`(?m)^id = "([^"]*)"`).FindStringSubmatch(tm[1])
	if apiKey == nil || appID == nil {
		t.Fatal("the README's gateway config lacks apiKey or an app id")
	}
	lkSecret, ok := lkCfg.Keys[apiKey[1]]
	if !ok {
		t.Fatalf("the gateway's apiKey %q is not a key of the README's LiveKit config (%v)", apiKey[1], lkCfg.Keys)
	}

	redis := lktest.Redis(t)
	nodes := []*lktest.Node{lktest.LiveKitFrom(t, redis, ym[1]), lktest.LiveKitFrom(t, redis, ym[1])}
	dir := t.TempDir()
	cfg := tm[1]
	for f, content := range map[string]string{"/etc/roomd/app-secret": "readme-app-secret", "/etc/roomd/livekit-secret": lkSecret} {
		p := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg = strings.ReplaceAll(cfg, f, p)
	}
	for _, r := range []struct{ key, value string }{
		{"listen", "127.0.0.1:0"}, {"tlsCert", ""}, {"tlsKey", ""},
		{"url", nodes[0].URL + ", " + nodes[1].URL}, {"redis", redis},
	} {
		re := regexp.MustCompile(`(?m)^` + r.key + ` = "[^"]*"$`)
		if !re.MatchString(cfg) {
			t.Fatalf("the README's gateway config has no %s", r.key)
		}
		cfg = re.ReplaceAllString(cfg, r.key+` = "`+r.value+`"`)
	}
	path := writeFile(t, "roomd.toml", cfg, 0o600)
	url, stop := startRoomd(t, []string{"-config", path}, noEnv)
	m := signedJoin(t, url, roomd.App{ID: appID[1], Secret: "readme-app-secret"})
	if m.Type != proto.TypeLiveKit || m.URL != nodes[0].URL {
		t.Fatalf("answer %s %s at %s: want livekit at the first node, %s", m.Type, m.Reason, m.URL, nodes[0].URL)
	}
	for i, n := range nodes {
		if err := n.Validate(m.Token); err != nil {
			t.Errorf("node %d refuses the README gateway's token: %v", i, err)
		}
	}
	stop()
}
