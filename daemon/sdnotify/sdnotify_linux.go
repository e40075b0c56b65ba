package sdnotify

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
)

// notify sends one state. The environment is kept (unsetEnvironment false)
// because the daemon notifies many times over its life.
func notify(state string) error {
	if _, err := daemon.SdNotify(false, state); err != nil {
		return fmt.Errorf("sd_notify %s: %w", state, err)
	}
	return nil
}

// Ready tells systemd that start-up is finished (Type=notify): call it once
// the control socket accepts connections, so units ordered after voipd can
// use it at once.
func Ready() error { return notify(daemon.SdNotifyReady) }

// Status sets the one-line status that systemctl status shows.
func Status(s string) error { return notify("STATUS=" + s) }

// Stopping tells systemd that a clean shutdown has begun.
func Stopping() error { return notify(daemon.SdNotifyStopping) }

// Watchdog starts a goroutine that sends WATCHDOG=1 at half the interval
// systemd asked for (WatchdogSec= sets WATCHDOG_USEC), the margin sd_notify(3)
// recommends, until ctx ends. It returns the keep-alive period, or 0 when no
// watchdog is set for this process, in which case nothing is started. It does
// not block, so it may be called with or without go.
func Watchdog(ctx context.Context) (time.Duration, error) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return 0, fmt.Errorf("watchdog: %w", err)
	}
	if interval <= 0 {
		return 0, nil
	}
	period := interval / 2
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		// One keep-alive at once: start-up may have used part of the first
		// interval already.
		for {
			if err := notify(daemon.SdNotifyWatchdog); err != nil {
				slog.Warn("sdnotify: watchdog keep-alive failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return period, nil
}

// Listener returns the socket systemd passed by socket activation
// (voipd.socket), and true; or false when the process was started without
// one. More than one passed socket is an error: voipd has one control socket
// and would silently ignore the others. The LISTEN_* variables are unset so
// children do not inherit them.
func Listener() (net.Listener, bool, error) {
	lns, err := activation.Listeners()
	if err != nil {
		return nil, false, fmt.Errorf("socket activation: %w", err)
	}
	switch len(lns) {
	case 0:
		return nil, false, nil
	case 1:
		if lns[0] == nil {
			return nil, false, fmt.Errorf("socket activation: the passed descriptor is not a listening socket")
		}
		return lns[0], true, nil
	default:
		for _, ln := range lns {
			if ln != nil {
				ln.Close()
			}
		}
		return nil, false, fmt.Errorf("socket activation: %d sockets passed, want one (ListenStream= in voipd.socket)", len(lns))
	}
}
