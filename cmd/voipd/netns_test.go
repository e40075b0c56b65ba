package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// netns is a network namespace of the test's own, joined to the host by a
// veth pair on a /30 of 10.222.0.0/16: a voipd runs inside (ip netns
// exec), roomd listens on the host's end, and nftables cuts or thins what
// the namespace receives and what the host receives from it. Dropping on
// input hooks only: on an output hook the sender gets an error back and
// retries at once, which is no loss at all.
type netns struct {
	t              *testing.T
	name           string
	hostIf, nsIf   string
	hostIP, nsIP   string
	hostTable, nsT string
}

// newNetns makes the namespace and its link; the test's cleanup removes
// both (and the host's rules). It needs root, as CI runs.
func newNetns(t *testing.T) *netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test makes a network namespace and needs root (CI runs as root)")
	}
	id := randomID()
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<14)) // a /30 among 16384
	block := int(n.Int64()) * 4
	ns := &netns{
		t: t, name: "vd" + id, hostIf: "vdh" + id, nsIf: "vdn" + id,
		hostIP:    fmt.Sprintf("10.222.%d.%d", block/256, block%256+1),
		nsIP:      fmt.Sprintf("10.222.%d.%d", block/256, block%256+2),
		hostTable: "vdhost" + id, nsT: "vdns",
	}
	t.Cleanup(ns.remove)
	ns.run("ip", "netns", "add", ns.name)
	ns.run("ip", "link", "add", ns.hostIf, "type", "veth", "peer", "name", ns.nsIf)
	ns.run("ip", "link", "set", ns.nsIf, "netns", ns.name)
	ns.run("ip", "addr", "add", ns.hostIP+"/30", "dev", ns.hostIf)
	ns.run("ip", "link", "set", ns.hostIf, "up")
	ns.in("ip", "addr", "add", ns.nsIP+"/30", "dev", ns.nsIf)
	ns.in("ip", "link", "set", ns.nsIf, "up")
	ns.in("ip", "link", "set", "lo", "up")
	return ns
}

func randomID() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (ns *netns) run(args ...string) {
	ns.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		ns.t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// in runs a command inside the namespace.
func (ns *netns) in(args ...string) {
	ns.t.Helper()
	ns.run(append([]string{"ip", "netns", "exec", ns.name}, args...)...)
}

// nft loads a ruleset (nft -f -), in the namespace or on the host.
func (ns *netns) nft(inside bool, rules string) {
	ns.t.Helper()
	args := []string{"nft", "-f", "-"}
	if inside {
		args = append([]string{"ip", "netns", "exec", ns.name}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		ns.t.Fatalf("nft %q: %v\n%s", rules, err, out)
	}
}

// drop makes the namespace lose pct percent of what it receives, and the
// host pct percent of what it receives from the namespace (100: a
// blackout); 0 lifts it.
func (ns *netns) drop(pct int) {
	ns.t.Helper()
	ns.lift()
	if pct <= 0 {
		return
	}
	verdict := "drop"
	if pct < 100 {
		verdict = fmt.Sprintf("numgen random mod 100 < %d drop", pct)
	}
	// One statement a line: nft wants a newline, not a semicolon, before "}".
	const table = "table inet %s {\n chain in {\n  type filter hook input priority 0;\n  %s\n }\n}\n"
	ns.nft(true, fmt.Sprintf(table, ns.nsT, verdict))
	ns.nft(false, fmt.Sprintf(table, ns.hostTable, fmt.Sprintf("iifname %q %s", ns.hostIf, verdict)))
}

// lift removes the drop rules, if any.
func (ns *netns) lift() {
	exec.Command("ip", "netns", "exec", ns.name, "nft", "delete", "table", "inet", ns.nsT).Run()
	exec.Command("nft", "delete", "table", "inet", ns.hostTable).Run()
}

func (ns *netns) remove() {
	ns.lift()
	exec.Command("ip", "netns", "del", ns.name).Run() // takes the veth pair with it
	exec.Command("ip", "link", "del", ns.hostIf).Run()
}

// command is args run inside the namespace.
func (ns *netns) command(args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.name}, args...)...)
}
