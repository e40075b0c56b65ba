package control

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestProcGroups(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    []uint32
		wantErr bool
	}{
		{"several", "Name:\tx\nUid:\t0\t0\t0\t0\nGroups:\t4 24 27 1000 \nNgid:\t0\n", []uint32{4, 24, 27, 1000}, false},
		{"none", "Name:\tx\nGroups:\t\n", []uint32{}, false},
		{"missing line", "Name:\tx\n", nil, true},
		{"garbage", "Groups:\tfour\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "status")
			if err := os.WriteFile(path, []byte(tt.status), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := procGroups(path)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !slices.Equal(got, tt.want) {
				t.Errorf("groups = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPeerInGroup(t *testing.T) {
	p := Peer{GID: 10, Groups: []uint32{29, 44}}
	for gid, want := range map[uint32]bool{10: true, 29: true, 44: true, 0: false, 11: false} {
		if got := p.InGroup(gid); got != want {
			t.Errorf("InGroup(%d) = %v, want %v", gid, got, want)
		}
	}
}

// peerOf over a real Unix connection sees this very process: the same code
// path (peerCred) as the server's, with the kernel's answer on this system.
func TestPeerOfUnixConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server := <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	defer server.Close()
	p, err := peerOf(server)
	if err != nil {
		t.Fatal(err)
	}
	if p.UID != uint32(os.Geteuid()) || p.GID != uint32(os.Getegid()) || p.PID != int32(os.Getpid()) {
		t.Errorf("peer = uid %d gid %d pid %d, want uid %d gid %d pid %d", p.UID, p.GID, p.PID, os.Geteuid(), os.Getegid(), os.Getpid())
	}
	p.readGroups()
	want, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range want {
		if !p.InGroup(uint32(g)) {
			t.Errorf("peer is not in group %d, one of this process's groups %v (peer's %v)", g, want, p.Groups)
		}
	}
}

func TestPeerOfRefusesOtherConnections(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := peerOf(a); err == nil || !strings.Contains(err.Error(), "not a Unix connection") {
		t.Errorf("peerOf(net.Pipe) = %v, want a refusal naming the connection type", err)
	}
}

// Linux's SO_PEERCRED shape: uid, gid and pid, the groups read later.
func TestPeerFromUcred(t *testing.T) {
	p := peerFromUcred(ucred{Pid: 4242, Uid: 1000, Gid: 29})
	if p.UID != 1000 || p.GID != 29 || p.PID != 4242 || p.Groups != nil || p.groupsRead {
		t.Errorf("peer = %+v, want uid 1000 gid 29 pid 4242 and its groups still to read", p)
	}
	if !p.InGroup(29) || p.InGroup(1000) {
		t.Errorf("InGroup: primary gid 29 must count, the uid must not")
	}
}

// macOS's LOCAL_PEERCRED shape: the first group is the effective gid, the
// rest up to cr_ngroups the supplementary groups, nothing left to read.
func TestPeerFromXucred(t *testing.T) {
	x := xucred{Version: xucredVersion, Uid: 501, Ngroups: 3, Groups: [16]uint32{20, 12, 80, 99}}
	p, err := peerFromXucred(x, 777)
	if err != nil {
		t.Fatal(err)
	}
	if p.UID != 501 || p.GID != 20 || p.PID != 777 || !slices.Equal(p.Groups, []uint32{12, 80}) || !p.groupsRead {
		t.Errorf("peer = %+v, want uid 501 gid 20 pid 777 groups [12 80], read", p)
	}
	for gid, want := range map[uint32]bool{20: true, 12: true, 80: true, 99: false, 501: false} {
		if got := p.InGroup(gid); got != want {
			t.Errorf("InGroup(%d) = %v, want %v (99 lies beyond cr_ngroups)", gid, got, want)
		}
	}
	p.readGroups() // no /proc on macOS: the groups it came with stay
	if !slices.Equal(p.Groups, []uint32{12, 80}) {
		t.Errorf("readGroups changed the groups LOCAL_PEERCRED gave: %v", p.Groups)
	}

	one, err := peerFromXucred(xucred{Uid: 0, Ngroups: 1, Groups: [16]uint32{0}}, 1)
	if err != nil || one.GID != 0 || len(one.Groups) != 0 {
		t.Errorf("a single group: peer %+v, err %v; want gid 0 and no supplementary group", one, err)
	}
	full := xucred{Ngroups: 16}
	for i := range full.Groups {
		full.Groups[i] = uint32(100 + i)
	}
	if p, err := peerFromXucred(full, 1); err != nil || len(p.Groups) != 15 || p.Groups[14] != 115 {
		t.Errorf("sixteen groups: peer %+v, err %v; want gid 100 and 15 supplementary groups", p, err)
	}

	for _, bad := range []struct {
		x    xucred
		want string
	}{
		{xucred{Version: 1, Ngroups: 1}, "version 1"},
		{xucred{Ngroups: 0}, "0 groups"},
		{xucred{Ngroups: 17}, "17 groups"},
		{xucred{Ngroups: -1}, "-1 groups"},
	} {
		if _, err := peerFromXucred(bad.x, 1); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("peerFromXucred(%+v) = %v, want an error naming %q", bad.x, err, bad.want)
		}
	}
}
