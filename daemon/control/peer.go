package control

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"
)

// Peer is who is at the other end of a connection, as the kernel saw it at
// connect time (SO_PEERCRED), plus the process's supplementary groups. The
// daemon grants scopes from it (the control API's scopes, README.md).
type Peer struct {
	UID, GID uint32
	PID      int32
	// Groups are the supplementary groups from /proc/PID/status. The kernel
	// does not pass them with SO_PEERCRED, so they are read once when the
	// client connects; nil when the process is already gone or in another
	// PID namespace.
	Groups     []uint32
	groupsRead bool
}

// InGroup reports whether gid is the peer's primary or a supplementary group.
func (p Peer) InGroup(gid uint32) bool {
	if p.GID == gid {
		return true
	}
	for _, g := range p.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// peerOf reads the credentials of a Unix connection. Anything else is
// refused: a connection whose peer is unknown must not be granted scopes as
// uid 0 by default.
func peerOf(conn net.Conn) (Peer, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return Peer{}, fmt.Errorf("peer credentials: %T is not a Unix connection", conn)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return Peer{}, fmt.Errorf("peer credentials: SO_PEERCRED: %w", credErr)
	}
	return Peer{UID: cred.Uid, GID: cred.Gid, PID: cred.Pid}, nil
}

// readGroups fills in the supplementary groups, once. The server reads
// them only for a connection it may serve: a flood of connections it
// refuses by uid costs no file read each.
func (p *Peer) readGroups() {
	if p.groupsRead {
		return
	}
	p.groupsRead = true
	if p.PID > 0 {
		// A missing file (the client exited, or lives in another PID
		// namespace) leaves Groups empty: fewer scopes, never more.
		p.Groups, _ = procGroups(fmt.Sprintf("/proc/%d/status", p.PID))
	}
}

// procGroups reads the "Groups:" line of a /proc/PID/status file.
func procGroups(path string) ([]uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("Groups:"))
		if !ok {
			continue
		}
		return parseGroups(rest)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New(path + ": no Groups line")
}

func parseGroups(list []byte) ([]uint32, error) {
	fields := bytes.Fields(list)
	groups := make([]uint32, 0, len(fields))
	for _, f := range fields {
		g, err := strconv.ParseUint(string(f), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("groups: %q: %w", f, err)
		}
		groups = append(groups, uint32(g))
	}
	return groups, nil
}
