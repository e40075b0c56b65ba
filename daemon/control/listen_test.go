package control

import (
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestListenModeAndParent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "voipd", "control.sock") // parent missing
	ln, err := Listen(path, 0o660, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode = %v, want socket 0660", fi.Mode())
	}
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if dir.Mode().Perm() != 0o755 {
		t.Errorf("created parent mode = %v, want 0755", dir.Mode().Perm())
	}
}

func TestListenGroup(t *testing.T) {
	// A group other than ours, so the chown is visible: nogroup exists on
	// Debian; changing to it needs root or membership, and the tests run as
	// root here. Fall back to our own gid when not root, which still
	// exercises the lookup by name.
	name := "nogroup"
	if os.Geteuid() != 0 {
		g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
		if err != nil {
			t.Fatal(err)
		}
		name = g.Name
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		t.Fatalf("group %s: %v (Debian's base-passwd package provides it)", name, err)
	}
	for _, group := range []string{name, g.Gid} {
		path := filepath.Join(t.TempDir(), "c.sock")
		ln, err := Listen(path, 0o660, group)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if gid := fi.Sys().(*syscall.Stat_t).Gid; strconv.Itoa(int(gid)) != g.Gid {
			t.Errorf("Listen(group %q): gid %d, want %s", group, gid, g.Gid)
		}
		ln.Close()
	}
	if _, err := Listen(filepath.Join(t.TempDir(), "c.sock"), 0o660, "no-such-group-voipd"); err == nil {
		t.Error("Listen with an unknown group succeeded")
	}
}

func TestListenStaleAndLive(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string) // leaves something at path
		wantErr string                          // "" = Listen succeeds
	}{
		{"nothing there", func(*testing.T, string) {}, ""},
		{"stale socket", func(t *testing.T, path string) {
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			l.(*net.UnixListener).SetUnlinkOnClose(false) // as after a crash
			l.Close()
		}, ""},
		{"live socket", func(t *testing.T, path string) {
			l, err := net.Listen("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
		}, "another voipd is listening on "},
		{"regular file", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "exists and is not a socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.sock")
			tt.prepare(t, path)
			ln, err := Listen(path, 0o660, "")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				c, err := net.Dial("unix", path)
				if err != nil {
					t.Fatalf("dialling the new socket: %v", err)
				}
				c.Close()
				return
			}
			if err == nil {
				ln.Close()
				t.Fatalf("Listen succeeded, want %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q, want one containing %q and the path", err, tt.wantErr)
			}
		})
	}
}
