// Command voipbench drives the measurements of `make bench` that need
// running processes: voipd's start-up and join times, a two-member video
// call of voipd processes beside the same call between headless Chromium
// instances, the mouth-to-ear delay and the raw frames of the VP8 anchors.
// Each subcommand prints a markdown section for docs/BENCHMARKS.md on
// stdout (scripts/bench.sh assembles them) and its progress on stderr.
//
//	voipbench frames  -o FILE -w 640 -h 480     raw I420 frames for the anchors
//	voipbench micro   -raw FILE                  the Opus and VP8 tables from benchmark lines
//	voipbench startup -bin DIR                   start to READY=1
//	voipbench join    -bin DIR                   joinVoIPChat and Chromium's first frame
//	voipbench call    -bin DIR                   voipd ×2 vs Chromium ×2, CPU, memory, GC
//	voipbench m2e     -bin DIR                   mouth to ear between two voipd processes
//	voipbench voice   -bin DIR                   voice call: voipd ×2 vs baresip ×2, CPU, switches
//	voipbench vp8speed [-- CPU-USED ...]         libvpx speed settings beside decoded PSNR
//
// Durations and counts come from flags whose defaults are the issue's;
// scripts/bench.sh sets them from BENCH_* variables.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
)

const appID = "wx20afc706a711eefc"

// The flags every subcommand has.
var (
	binDir     = new(string)
	clientCPU  = new(string)
	verbose    = new(bool)
	progressTo = os.Stderr
)

// newFlags is a subcommand's flag set with the common flags.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.StringVar(binDir, "bin", "bin", "directory holding voipd")
	fs.StringVar(clientCPU, "client-cpu", "", "CPU list the measured clients run on (taskset -c); empty: unpinned")
	fs.BoolVar(verbose, "v", false, "log the room server and the daemons at debug level")
	return fs
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: voipbench frames|micro|startup|join|call|m2e [flags]")
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	cmds := map[string]func([]string) error{
		"frames": cmdFrames, "micro": cmdMicro, "startup": cmdStartup, "join": cmdJoin, "call": cmdCall, "m2e": cmdM2E, "vp8speed": cmdVP8Speed, "voice": cmdVoice, "codec": cmdCodec,
	}
	run, ok := cmds[cmd]
	if !ok {
		fmt.Fprintf(os.Stderr, "voipbench: unknown subcommand %q\n", cmd)
		os.Exit(2)
	}
	if err := run(args); err != nil {
		fmt.Fprintf(os.Stderr, "voipbench %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func progress(format string, a ...any) {
	fmt.Fprintf(progressTo, "voipbench: "+format+"\n", a...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func logger() *slog.Logger {
	if *verbose {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// room is a roomd in this process, in dev mode (browsers sign their joins).
type room struct {
	srv    *roomd.Server
	secret string
	ws     string
}

// roomAndDir starts roomd in this process and makes a scratch directory
// named after prefix; done closes the one and removes the other.
func roomAndDir(prefix string) (rm *room, dir string, done func(), err error) {
	if rm, err = startRoom(context.Background()); err != nil {
		return nil, "", nil, err
	}
	if dir, err = os.MkdirTemp("", prefix); err != nil {
		rm.srv.Close()
		return nil, "", nil, err
	}
	return rm, dir, func() { rm.srv.Close(); os.RemoveAll(dir) }, nil
}

func startRoom(ctx context.Context) (*room, error) {
	secret := randomHex(16)
	srv, err := roomd.New(roomd.Config{Listen: "127.0.0.1:0", Apps: []roomd.App{{ID: appID, Secret: secret}}, Dev: true, Logger: logger()})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	return &room{srv: srv, secret: secret, ws: strings.Replace(srv.URL(), "http", "ws", 1) + "/ws"}, nil
}

// joinParams are a signed joinVoIPChat's params for member openid.
func (r *room) joinParams(openid, group, roomType string) map[string]any {
	nonce, ts := randomHex(8), time.Now().Unix()
	return map[string]any{
		"groupId": group, "nonceStr": nonce, "timeStamp": ts, "roomType": roomType,
		"signature": proto.Signature(appID, group, nonce, ts, proto.SessionKey(r.secret, openid)),
	}
}

// daemonConfig is a kiosk's configuration with synthetic devices: a 440 Hz
// tone, a null speaker and the pattern camera at 640x480@30 (the
// defaults), the display feed off (it would need a fixed port).
func daemonConfig(dir, openid, roomURL, secret string) string {
	return daemonConfigSpeaker(dir, openid, roomURL, secret, "tone:440", "null")
}

// daemonConfigSpeaker is daemonConfig with audio.playback set: "null" is
// hw/synth's sink, "default" miniaudio's null backend through malgo (the
// device path a sound card takes, with its callbacks on miniaudio's thread).
func daemonConfigSpeaker(dir, openid, roomURL, secret, capture, playback string) string {
	sessionKey := ""
	if secret != "" {
		sessionKey = proto.SessionKey(secret, openid)
	}
	return fmt.Sprintf(`[identity]
appId = %q
openid = %q
sessionKey = %q
[room]
url = %q
[embedded]
listen = "127.0.0.1:0"
[control]
socket = %q
[display]
listen = ""
[audio]
backend = "null"
capture = %q
playback = %q
[video]
camera = "pattern:%s"
[log]
level = "warn"
`, appID, openid, sessionKey, roomURL, dir+"/control.sock", capture, playback, openid)
}

// proc is a voipd process the bench started.
type proc struct {
	cmd     *exec.Cmd
	started time.Time
	socket  string
	stderr  string // the file its stderr goes to
}

// startVoipd starts bin/voipd with config text in a fresh directory under
// dir, pinned to -client-cpu when set. env adds to the environment.
func startVoipd(dir, name, config string, env ...string) (*proc, error) {
	d := dir + "/" + name
	if err := os.MkdirAll(d, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(d+"/config.toml", []byte(config), 0o600); err != nil {
		return nil, err
	}
	errf, err := os.Create(d + "/stderr")
	if err != nil {
		return nil, err
	}
	defer errf.Close()
	argv := []string{*binDir + "/voipd", "-config", d + "/config.toml"}
	if *clientCPU != "" {
		argv = append([]string{"taskset", "-c", *clientCPU}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = errf
	p := &proc{cmd: cmd, socket: d + "/control.sock", stderr: d + "/stderr"}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// startVoipdCtl is startVoipd, then its control socket once it accepts
// connections; the process is returned (to stop) even when the socket
// never comes.
func startVoipdCtl(dir, name, config string, env ...string) (*proc, *ctl, error) {
	p, err := startVoipd(dir, name, config, env...)
	if err != nil {
		return nil, nil, err
	}
	c, err := p.waitSocket(10 * time.Second)
	return p, c, err
}

// waitSocket waits until the control socket accepts connections.
func (p *proc) waitSocket(d time.Duration) (*ctl, error) {
	deadline := time.Now().Add(d)
	for {
		c, err := dialCtl(p.socket)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(p.stderr)
			return nil, fmt.Errorf("voipd's socket %s: %w\n%s", p.socket, err, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits (SIGKILL after 10 s).
func (p *proc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}
