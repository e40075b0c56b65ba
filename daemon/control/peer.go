package control

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
)

// Peer is who is at the other end of a connection, as the kernel saw it at
// connect time (Linux's SO_PEERCRED, macOS's LOCAL_PEERCRED), plus the
// process's supplementary groups. The daemon grants scopes from it (the
// control API's scopes, README.md).
type Peer struct {
	UID, GID uint32
	PID      int32
	// Groups are the supplementary groups. Linux does not pass them with
	// SO_PEERCRED, so they are read once from /proc/PID/status when the
	// client connects (nil when the process is already gone or in another
	// PID namespace); macOS passes them with LOCAL_PEERCRED (at most 15:
	// struct xucred holds 16 groups, the first the effective one).
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

// peerOf reads the credentials of a Unix connection (peerCred, one per
// system: peer_linux.go, peer_darwin.go). Anything else is refused: a
// connection whose peer is unknown must not be granted scopes as uid 0 by
// default.
func peerOf(conn net.Conn) (Peer, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return Peer{}, fmt.Errorf("peer credentials: %T is not a Unix connection", conn)
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	var peer Peer
	var credErr error
	if err := raw.Control(func(fd uintptr) { peer, credErr = peerCred(int(fd)) }); err != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", err)
	}
	if credErr != nil {
		return Peer{}, fmt.Errorf("peer credentials: %w", credErr)
	}
	return peer, nil
}

// ucred is Linux's struct ucred, SO_PEERCRED's answer, field for field as
// syscall.Ucred (peer_linux.go converts one to the other, so the compiler
// checks that the shapes agree).
type ucred struct {
	Pid int32
	Uid uint32
	Gid uint32
}

// peerFromUcred is a Peer from SO_PEERCRED. The supplementary groups are
// not in it: readGroups reads them, for a connection the server serves.
func peerFromUcred(c ucred) Peer {
	return Peer{UID: c.Uid, GID: c.Gid, PID: c.Pid}
}

// xucredVersion is XUCRED_VERSION, the only struct xucred layout there is.
const xucredVersion = 0

// xucred is macOS's struct xucred, LOCAL_PEERCRED's answer, field for
// field as golang.org/x/sys/unix.Xucred (peer_darwin.go converts one to the
// other, so the compiler checks that the shapes agree).
type xucred struct {
	Version uint32
	Uid     uint32
	Ngroups int16
	Groups  [16]uint32
}

// peerFromXucred is a Peer from LOCAL_PEERCRED and the pid from
// LOCAL_PEERPID. XNU fills cr_groups from the process's credential, whose
// first group is the effective gid (BSD's cr_gid is cr_groups[0]); the
// others, up to cr_ngroups, are the supplementary groups, so nothing is
// left to read later.
func peerFromXucred(x xucred, pid int32) (Peer, error) {
	if x.Version != xucredVersion {
		return Peer{}, fmt.Errorf("LOCAL_PEERCRED: struct xucred version %d, want %d", x.Version, xucredVersion)
	}
	if x.Ngroups < 1 || int(x.Ngroups) > len(x.Groups) {
		return Peer{}, fmt.Errorf("LOCAL_PEERCRED: %d groups, want 1 to %d (the first is the effective gid)", x.Ngroups, len(x.Groups))
	}
	groups := make([]uint32, x.Ngroups-1)
	copy(groups, x.Groups[1:x.Ngroups])
	return Peer{UID: x.Uid, GID: x.Groups[0], PID: pid, Groups: groups, groupsRead: true}, nil
}

// readGroups fills in the supplementary groups from /proc, once (Linux;
// macOS passed them with the credentials). The server reads them only for
// a connection it may serve: a flood of connections it refuses by uid
// costs no file read each.
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
