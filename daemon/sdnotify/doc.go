// Package sdnotify tells systemd how voipd is doing and takes the control
// socket systemd may have opened for it. It wraps go-systemd: sd_notify(3)
// messages (READY=1 once the control socket listens, STATUS= on each state
// change, STOPPING=1 on shutdown, WATCHDOG=1 keep-alives) and sd_listen_fds(3)
// socket activation.
//
// Outside systemd (no NOTIFY_SOCKET, no LISTEN_FDS) every call is a no-op,
// so the daemon runs the same from a shell. On macOS, where launchd starts
// voipd (packaging/macos) and has neither protocol, go-systemd is not
// linked and every call is that same no-op (sdnotify_darwin.go).
package sdnotify
