// Package pulsetest starts a private PulseAudio server for tests: Debian's
// pulseaudio in user mode with its own runtime directory, a null sink and a
// sine tone playing into it, so the sink's ".monitor" source is a real,
// correctly paced capture device on a machine with no sound card
// (docs/ARCHITECTURE.md, "Devices without hardware").
//
// Tests in other packages use it too (e.g. the daemon's integration tests):
//
//	srv := pulsetest.Start(t, 440)
//	cmd.Env = append(os.Environ(), srv.Env()...) // a child process
//	srv.Setenv(t)                                // or this process
package pulsetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// sinkName is the null sink the tone plays into.
const sinkName = "voipd_null"

// startTimeout bounds how long Start waits for the server to answer.
const startTimeout = 15 * time.Second

// Server is a running private PulseAudio server.
type Server struct {
	dir    string // short temp dir: socket, runtime dir, home, script, log
	socket string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has been reaped
	log    *syncBuffer   // the server's stderr
}

// Start runs pulseaudio with a null sink and module-sine at sineHz playing
// into it (none when sineHz is 0), waits until it answers, and stops it at t.Cleanup. It fails the
// test (naming the Debian packages) if pulseaudio or pactl is missing.
func Start(t testing.TB, sineHz int) *Server {
	t.Helper()
	for bin, pkg := range map[string]string{"pulseaudio": "pulseaudio", "pactl": "pulseaudio-utils"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("pulsetest: %s not found: install the Debian package %s (apt-get install %s)", bin, pkg, pkg)
		}
	}
	// Not t.TempDir(): its paths can be long, and a unix socket path must
	// fit in 108 bytes.
	dir, err := os.MkdirTemp("", "pa")
	if err != nil {
		t.Fatalf("pulsetest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{dir: dir, socket: filepath.Join(dir, "native"), exited: make(chan struct{}), log: new(syncBuffer)}
	for _, d := range []string{"run", "home"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatalf("pulsetest: %v", err)
		}
	}
	sine := ""
	if sineHz > 0 {
		sine = fmt.Sprintf("load-module module-sine sink=%s frequency=%d\n", sinkName, sineHz)
	}
	script := fmt.Sprintf(`load-module module-native-protocol-unix socket=%s auth-anonymous=1
load-module module-null-sink sink_name=%s format=s16le rate=48000 channels=1
%sset-default-sink %s
set-default-source %s.monitor
`, s.socket, sinkName, sine, sinkName, sinkName)
	scriptPath := filepath.Join(dir, "voipd.pa")
	if err := os.WriteFile(scriptPath, []byte(script), 0o600); err != nil {
		t.Fatalf("pulsetest: %v", err)
	}
	// -n: no default.pa (no hardware detection, no other sockets). As root,
	// pulseaudio in user mode only warns ("not intended to be run as root")
	// and runs; no flag is needed. D-Bus is absent here and only warned
	// about too.
	s.cmd = exec.Command("pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1",
		"--use-pid-file=no", "--log-target=stderr", "-F", scriptPath)
	s.cmd.Env = append(os.Environ(), s.baseEnv()...)
	s.cmd.Dir = dir
	s.cmd.Stderr = s.log
	s.cmd.Stdout = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("pulsetest: start pulseaudio: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(s.stop)
	if err := s.waitReady(); err != nil {
		t.Fatalf("pulsetest: %v\npulseaudio log:\n%s", err, s.log.String())
	}
	return s
}

// waitReady polls pactl until the server answers, the process dies or
// startTimeout passes.
func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		if _, last = s.pactl(ctx, "info"); last == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("pulseaudio exited before answering: %v", s.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("pulseaudio did not answer within %v: %v", startTimeout, last)
		case <-tick.C:
		}
	}
}

// stop terminates the server and reaps it (bounded).
func (s *Server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func (s *Server) pactl(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "pactl", args...)
	cmd.Env = append(os.Environ(), s.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("pactl %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// Pactl runs pactl against the server and returns its output, failing the
// test on error.
func (s *Server) Pactl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.pactl(context.Background(), args...)
	if err != nil {
		t.Fatalf("pulsetest: %v", err)
	}
	return out
}

func (s *Server) baseEnv() []string {
	return []string{
		"XDG_RUNTIME_DIR=" + filepath.Join(s.dir, "run"),
		"HOME=" + filepath.Join(s.dir, "home"),
	}
}

// Env returns the environment a client process needs to use the server:
// PULSE_SERVER, plus XDG_RUNTIME_DIR and HOME inside the server's temp dir so
// libpulse neither looks for nor writes to the real user's files.
func (s *Server) Env() []string {
	return append([]string{"PULSE_SERVER=unix:" + s.socket}, s.baseEnv()...)
}

// Setenv sets Env in this process for the rest of the test (restored at
// cleanup), for in-process malgo use. Call it before creating the first
// malgo context of the test: libpulse reads these when a context connects.
// Like t.Setenv it cannot be used in parallel tests.
func (s *Server) Setenv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Sink returns the null sink's name, a playback device.
func (s *Server) Sink() string { return sinkName }

// MonitorSource returns the null sink's monitor, the capture device that
// hears the sine (and whatever is played into the sink).
func (s *Server) MonitorSource() string { return sinkName + ".monitor" }

// Socket returns the server's unix socket path.
func (s *Server) Socket() string { return s.socket }

// Log returns what the server has logged so far, for failure messages.
func (s *Server) Log() string { return s.log.String() }

// syncBuffer is a bytes.Buffer safe for the exec copier and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// RemoveSink unloads the null sink and the tone playing into it, as a
// sound card unplugged (or a sound server losing it) does: streams on the
// sink and its monitor end.
func (s *Server) RemoveSink(t testing.TB) {
	t.Helper()
	// The tone goes first: unloading the sink takes the sine's stream with
	// it, and pactl then finds no module to unload.
	var sines, sinks []string
	for _, line := range strings.Split(s.Pactl(t, "list", "short", "modules"), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) < 2:
		case f[1] == "module-sine":
			sines = append(sines, f[0])
		case f[1] == "module-null-sink":
			sinks = append(sinks, f[0])
		}
	}
	for _, m := range append(sines, sinks...) {
		s.Pactl(t, "unload-module", m)
	}
}

// AddSink loads the null sink and a tone of sineHz into it again, under
// the same names: the device is back.
func (s *Server) AddSink(t testing.TB, sineHz int) {
	t.Helper()
	s.Pactl(t, "load-module", "module-null-sink", "sink_name="+sinkName, "format=s16le", "rate=48000", "channels=1")
	s.Pactl(t, "load-module", "module-sine", "sink="+sinkName, fmt.Sprintf("frequency=%d", sineHz))
	s.Pactl(t, "set-default-sink", sinkName)
	s.Pactl(t, "set-default-source", sinkName+".monitor")
}

// EchoRoom makes a room a hands-free panel stands in: a speaker (a null
// sink) whose sound reaches a microphone (the monitor of a second null
// sink, through module-loopback, 30 ms later). It is a linear echo path,
// and two sinks rather than one and its monitor, because PulseAudio's own
// canceller refuses a sink and its monitor (EchoCancel).
func (s *Server) EchoRoom(t testing.TB) (speaker, microphone string) {
	t.Helper()
	s.Pactl(t, "load-module", "module-null-sink", "sink_name=room_speaker", "format=s16le", "rate=48000", "channels=1")
	s.Pactl(t, "load-module", "module-null-sink", "sink_name=room_air", "format=s16le", "rate=48000", "channels=1")
	s.Pactl(t, "load-module", "module-loopback", "source=room_speaker.monitor", "sink=room_air",
		"latency_msec=30", "source_dont_move=true", "sink_dont_move=true")
	return "room_speaker", "room_air.monitor"
}

// EchoCancel loads PulseAudio's own echo canceller (module-echo-cancel,
// aec_method=webrtc) between speaker and microphone (EchoRoom's), and
// returns the source and sink it makes: what plays into the sink is the
// far end, the source is the microphone with its echo cancelled.
func (s *Server) EchoCancel(t testing.TB, speaker, microphone string) (source, sink string) {
	t.Helper()
	s.Pactl(t, "load-module", "module-echo-cancel", "aec_method=webrtc",
		"source_master="+microphone, "sink_master="+speaker,
		"source_name=ec_source", "sink_name=ec_sink", "rate=48000", "channels=1")
	return "ec_source", "ec_sink"
}

// Record runs parec on source, writing raw s16le 48 kHz mono to path with
// a 10 ms latency, until the returned stop is called (or the test ends).
func (s *Server) Record(t testing.TB, source, path string) (stop func()) {
	t.Helper()
	cmd := exec.Command("parec", "--device="+source, "--format=s16le", "--rate=48000", "--channels=1",
		"--latency-msec=10", "--raw", path)
	cmd.Env = s.Env()
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("pulsetest: parec: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Play plays the WAV file at path into sink with paplay and returns once it
// has been played.
func (s *Server) Play(t testing.TB, sink, path string) {
	t.Helper()
	cmd := exec.Command("paplay", "--device="+sink, "--latency-msec=20", path)
	cmd.Env = s.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pulsetest: paplay %s: %v\n%s", path, err, out)
	}
}
