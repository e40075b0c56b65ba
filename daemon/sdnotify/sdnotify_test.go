//go:build linux

package sdnotify

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// notifySocket listens where NOTIFY_SOCKET points for the test's duration,
// as systemd does for a Type=notify service.
func notifySocket(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

func readMessage(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(buf[:n])
}

func TestNotifications(t *testing.T) {
	conn := notifySocket(t)
	tests := []struct {
		name string
		send func() error
		want string
	}{
		{"ready", Ready, "READY=1"},
		{"status", func() error { return Status("in room g1 with 3 members") }, "STATUS=in room g1 with 3 members"},
		{"stopping", Stopping, "STOPPING=1"},
	}
	for _, tt := range tests {
		if err := tt.send(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := readMessage(t, conn); got != tt.want {
			t.Errorf("%s sent %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNotificationsOutsideSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	os.Unsetenv("NOTIFY_SOCKET")
	for _, f := range []func() error{Ready, Stopping, func() error { return Status("x") }} {
		if err := f(); err != nil {
			t.Errorf("without NOTIFY_SOCKET: %v", err)
		}
	}
}

func TestWatchdog(t *testing.T) {
	conn := notifySocket(t)
	t.Setenv("WATCHDOG_USEC", "200000") // 200 ms
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	period, err := Watchdog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if period != 100*time.Millisecond {
		t.Fatalf("period = %v, want half of WATCHDOG_USEC", period)
	}
	for i := range 3 { // the immediate one and two ticks
		if got := readMessage(t, conn); got != "WATCHDOG=1" {
			t.Fatalf("keep-alive %d = %q", i, got)
		}
	}
}

func TestWatchdogNotSet(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"unset", map[string]string{}},
		{"for another process", map[string]string{"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", "")
			t.Setenv("WATCHDOG_PID", "")
			os.Unsetenv("WATCHDOG_USEC")
			os.Unsetenv("WATCHDOG_PID")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			period, err := Watchdog(t.Context())
			if err != nil || period != 0 {
				t.Fatalf("Watchdog = %v, %v; want 0, nil", period, err)
			}
		})
	}
}
