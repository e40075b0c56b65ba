//go:build linux

package sdnotify

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// helperEnv makes the test binary act as a socket-activated daemon instead
// of running the tests (see TestMain).
const helperEnv = "SDNOTIFY_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(activatedHelper())
	}
	os.Exit(m.Run())
}

// activatedHelper serves one line on the socket systemd-socket-activate
// passed: it answers "activated <line>", or reports why it could not.
func activatedHelper() int {
	ln, ok, err := Listener()
	if err != nil || !ok {
		fmt.Fprintf(os.Stderr, "helper: Listener = %v, %v\n", ok, err)
		return 3
	}
	defer ln.Close()
	if os.Getenv("LISTEN_FDS") != "" {
		fmt.Fprintln(os.Stderr, "helper: LISTEN_FDS left in the environment")
		return 4
	}
	ln.(interface{ SetDeadline(time.Time) error }).SetDeadline(time.Now().Add(10 * time.Second))
	conn, err := ln.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 5
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 6
	}
	fmt.Fprintf(conn, "activated %s", line)
	return 0
}

func TestSocketActivation(t *testing.T) {
	tool, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Fatalf("systemd-socket-activate not found (install Debian's systemd package): %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "control.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Without --accept, systemd-socket-activate waits for the first
	// connection and then execs the helper with the listening socket as
	// fd 3, just as systemd starts voipd.service from voipd.socket.
	cmd := exec.CommandContext(ctx, tool, "-l", path, "-E", helperEnv+"=1", self)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill() // a no-op once it has exited

	conn := dialWhenListening(t, ctx, path)
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintln(conn, "hello")
	got, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the helper's answer: %v (stderr: %s)", err, stderr.String())
	}
	if got != "activated hello\n" {
		t.Fatalf("helper answered %q", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v (stderr: %s)", err, stderr.String())
	}
}

// dialWhenListening dials path once systemd-socket-activate has bound it.
func dialWhenListening(t *testing.T, ctx context.Context, path string) net.Conn {
	t.Helper()
	for {
		conn, err := net.Dial("unix", path)
		if err == nil {
			return conn
		}
		if !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "connection refused") {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("socket %s never appeared", path)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestListenerWithoutActivation(t *testing.T) {
	t.Setenv("LISTEN_FDS", "")
	t.Setenv("LISTEN_PID", "")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_PID")
	ln, ok, err := Listener()
	if err != nil || ok || ln != nil {
		t.Fatalf("Listener = %v, %v, %v; want nil, false, nil", ln, ok, err)
	}
}
