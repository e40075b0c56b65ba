package control

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Listen listens on the Unix socket path with the given mode (0660 in
// production) and, if group is not empty, gives the socket to that group (a
// name or a numeric id) so its members may connect.
//
// A socket file left by a crashed daemon is replaced, as tailscaled does: the
// path is dialled first; if something answers, another daemon owns it and
// Listen fails; if the dial is refused the file is stale and removed. A path
// that exists but is not a socket is never removed. The parent directory is
// created (0755) when missing, for runs outside systemd's RuntimeDirectory.
func Listen(path string, mode os.FileMode, group string) (net.Listener, error) {
	gid := -1
	if group != "" {
		g, err := lookupGroup(group)
		if err != nil {
			return nil, err
		}
		gid = g
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	// Between Listen and Chmod the socket has the umask's mode; connecting
	// needs write permission, which the usual umask (022) denies to group and
	// others, so the window grants no one more than the final mode does.
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("control socket: group %s: %w", group, err)
		}
	}
	return ln, nil
}

func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control socket: %s exists and is not a socket", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("another voipd is listening on %s", path)
	}
	// Only a refused dial proves no one listens; a timeout may be a live
	// daemon with a full backlog, whose socket must not be stolen.
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("control socket: %s exists and cannot be probed: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("control socket: removing stale %s: %w", path, err)
	}
	return nil
}

// lookupGroup resolves a group name or numeric id.
func lookupGroup(group string) (int, error) {
	if id, err := strconv.Atoi(group); err == nil && id >= 0 {
		return id, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, fmt.Errorf("control socket: group %q: %w", group, err)
	}
	id, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("control socket: group %q has gid %q: %w", group, g.Gid, err)
	}
	return id, nil
}
