package sdnotify

import (
	"context"
	"net"
	"time"
)

// launchd, which starts voipd on macOS, has no readiness, status or
// watchdog messages and voipd does not take its sockets (launchd's
// launch_activate_socket): these are what sdnotify_linux.go's calls do outside
// systemd, compiled without go-systemd.

// Ready does nothing: launchd has no readiness message.
func Ready() error { return nil }

// Status does nothing: launchd shows no status line.
func Status(string) error { return nil }

// Stopping does nothing: launchd has no stopping message.
func Stopping() error { return nil }

// Watchdog starts nothing and returns 0: launchd has no watchdog.
func Watchdog(context.Context) (time.Duration, error) { return 0, nil }

// Listener returns false: voipd makes its own control socket under
// launchd.
func Listener() (net.Listener, bool, error) { return nil, false, nil }
