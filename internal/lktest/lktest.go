// Package lktest runs the fixtures of the LiveKit gateway tests (issue 18):
// Debian's redis-server and LiveKit's server (built once by
// scripts/livekit.sh into a cache outside the repository), on 127.0.0.1
// with ports the kernel picked, loopback candidates only, and STUN pointed
// at 127.0.0.1 so that no test reaches a public server.
package lktest

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"github.com/twitchtv/twirp"
	"gopkg.in/yaml.v3"
)

// Key and Secret are the LiveKit API key pair the test nodes accept.
const (
	Key    = "voipdtest"
	Secret = "voipd-test-secret-0123456789abcdef0123456789"
)

// freePort returns a port on 127.0.0.1 the kernel had free for network
// ("tcp" or "udp"); the caller binds it soon after, and retries if
// another process took it in between.
func freePort(t testing.TB, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a fixture process: its log kept, shown when the test fails.
type proc struct {
	cmd  *exec.Cmd
	log  *lockedBuf
	done chan struct{}
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs argv until the test ends (SIGKILL then; a test may kill it
// sooner), its output kept for the failure report.
func start(t testing.TB, name string, argv ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(argv[0], argv[1:]...), log: &lockedBuf{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{}
	dieWithParent(p.cmd.SysProcAttr) // should the test binary die without its cleanup
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			out := p.log.String()
			if len(out) > 20000 {
				out = "…" + out[len(out)-20000:]
			}
			t.Logf("%s's output:\n%s", name, out)
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Redis runs a redis-server on 127.0.0.1 for the test (no persistence)
// and returns its host:port.
func Redis(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server is missing: scripts/deps.sh (make test's deps) installs it")
	}
	for try := 0; ; try++ {
		port := freePort(t, "tcp")
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		p := start(t, "redis-server", "redis-server", "--bind", "127.0.0.1", "--port", fmt.Sprint(port),
			"--save", "", "--appendonly", "no", "--dir", t.TempDir())
		if waitTCP(addr, p, 20*time.Second) {
			return addr
		}
		if try == 2 {
			t.Fatalf("redis-server did not listen on %s:\n%s", addr, p.log.String())
		}
		p.cmd.Process.Kill()
	}
}

// waitTCP waits until addr accepts a connection, p exits, or d passes.
func waitTCP(addr string, p *proc, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && !p.exited() {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// Node is a running LiveKit server.
type Node struct {
	URL     string // ws://127.0.0.1:port, as clients connect
	HTTP    string // http://127.0.0.1:port, its API (RoomService, /rtc/validate)
	UDPPort int    // its one media port
	p       *proc
}

// Kill ends the node at once (SIGKILL), as a crash would.
func (n *Node) Kill() {
	n.p.cmd.Process.Kill()
	<-n.p.done
}

// Log is what the node has written so far.
func (n *Node) Log() string { return n.p.log.String() }

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary is the LiveKit server, from scripts/livekit.sh's cache (built
// there first if missing: about 2 minutes, once per machine).
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "livekit.sh")
		cmd := exec.Command(script)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			binErr = fmt.Errorf("scripts/livekit.sh: %v", err)
			return
		}
		binPath = strings.TrimSpace(string(out))
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// LiveKit runs a LiveKit node on 127.0.0.1 sharing redis (host:port) with
// the fleet's other nodes, accepting Key and Secret.
func LiveKit(t testing.TB, redis string) *Node {
	t.Helper()
	return LiveKitFrom(t, redis, fmt.Sprintf("keys:\n  %s: %s\n", Key, Secret))
}

// LiveKitFrom runs a LiveKit node from an operator's config (YAML, such as
// the README's), with what ties it to a site replaced by this test's: its
// ports (the kernel's picks), addresses and candidates (127.0.0.1 only),
// Redis (redis), STUN (127.0.0.1, so that no public server is reached),
// no TURN. The rest — its API keys first — is the config's.
func LiveKitFrom(t testing.TB, redis, config string) *Node {
	t.Helper()
	var base map[string]any
	if err := yaml.Unmarshal([]byte(config), &base); err != nil {
		t.Fatalf("LiveKit config: %v", err)
	}
	bin := Binary(t)
	for try := 0; ; try++ {
		port, udp := freePort(t, "tcp"), freePort(t, "udp")
		cfg := maps.Clone(base)
		if cfg == nil {
			cfg = map[string]any{}
		}
		cfg["port"] = port
		cfg["bind_addresses"] = []string{"127.0.0.1"}
		cfg["redis"] = overlay(cfg["redis"], map[string]any{"address": redis})
		cfg["rtc"] = overlay(cfg["rtc"], map[string]any{
			"udp_port": udp, "tcp_port": 0, "use_external_ip": false, "node_ip": "127.0.0.1",
			"enable_loopback_candidate": true, "stun_servers": []string{"127.0.0.1:9"},
			"interfaces": map[string]any{"includes": []string{"lo"}},
			"ips":        map[string]any{"includes": []string{"127.0.0.0/8"}},
		})
		cfg["turn"] = map[string]any{"enabled": false}
		cfg["logging"] = map[string]any{"level": "info"}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "livekit.yaml")
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		p := start(t, fmt.Sprintf("livekit-server :%d", port), bin, "--config", path)
		n := &Node{URL: fmt.Sprintf("ws://127.0.0.1:%d", port), HTTP: fmt.Sprintf("http://127.0.0.1:%d", port), UDPPort: udp, p: p}
		if n.waitReady(30 * time.Second) {
			return n
		}
		if try == 2 {
			t.Fatalf("livekit-server did not come up on %d:\n%s", port, p.log.String())
		}
		n.Kill()
	}
}

// overlay is the YAML table v (nil or a table) with set's keys set.
func overlay(v any, set map[string]any) map[string]any {
	m, _ := v.(map[string]any)
	m = maps.Clone(m)
	if m == nil {
		m = map[string]any{}
	}
	maps.Copy(m, set)
	return m
}

// waitReady waits until the node answers its health check ("/").
func (n *Node) waitReady(d time.Duration) bool {
	deadline := time.Now().Add(d)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) && !n.p.exited() {
		if resp, err := c.Get(n.HTTP + "/"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// Validate asks the node whether it accepts token for joining (LiveKit's
// /rtc/validate): nil, or the node's answer.
func (n *Node) Validate(token string) error {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(n.HTTP + "/rtc/validate?access_token=" + token)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// Participants lists the identities in room as the node's RoomService
// sees them (any node of the fleet answers for any room).
func (n *Node) Participants(room string) ([]string, error) {
	tok, err := auth.NewAccessToken(Key, Secret).SetVideoGrant(&auth.VideoGrant{RoomList: true, RoomAdmin: true, Room: room}).
		SetValidFor(time.Minute).ToJWT()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx, err = twirp.WithHTTPRequestHeaders(ctx, http.Header{"Authorization": {"Bearer " + tok}})
	if err != nil {
		return nil, err
	}
	rs := livekit.NewRoomServiceProtobufClient(n.HTTP, &http.Client{Timeout: 5 * time.Second})
	res, err := rs.ListParticipants(ctx, &livekit.ListParticipantsRequest{Room: room})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range res.Participants {
		ids = append(ids, p.Identity)
	}
	slices.Sort(ids)
	return ids, nil
}
