package control

import (
	"os"
	"path/filepath"
	"slices"
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
