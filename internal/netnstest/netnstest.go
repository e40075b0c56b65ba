//go:build linux

package netnstest

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// nsTable is the nftables table inside the namespace. The namespace is the
// test's own, so one fixed name cannot collide.
const nsTable = "netnstest"

// NS is one network namespace with a veth pair to the host, on a random /30
// of 10.222.0.0/16 (HostIP is .1 of it, NSIP .2). Its fields are read-only.
type NS struct {
	// Name is the namespace's name, as ip netns knows it (/var/run/netns/Name).
	Name string
	// HostIf and NSIf are the two ends of the veth pair: HostIf on the
	// host, NSIf inside the namespace.
	HostIf, NSIf string
	// HostIP and NSIP are the addresses of HostIf and NSIf.
	HostIP, NSIP string

	t         testing.TB
	hostTable string // the host's nftables table, unique per namespace
}

// New makes a namespace and its link, with the namespace's loopback up, and
// registers their removal (rules, link and namespace) with t.Cleanup. It
// calls t.Fatal when not run as root or when a step fails.
func New(t testing.TB) *NS {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("netnstest: this test makes a network namespace and needs root (CI runs as root)")
	}
	var b [5]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:3])
	block := int(binary.BigEndian.Uint16(b[3:])%(1<<14)) * 4 // a /30 among 16384
	ns := &NS{
		// Interface names have at most 15 bytes; these have 9.
		Name: "vd" + id, HostIf: "vdh" + id, NSIf: "vdn" + id,
		HostIP:    fmt.Sprintf("10.222.%d.%d", block/256, block%256+1),
		NSIP:      fmt.Sprintf("10.222.%d.%d", block/256, block%256+2),
		t:         t,
		hostTable: "netnstest" + id,
	}
	t.Cleanup(ns.remove)
	steps := [][]string{
		{"ip", "netns", "add", ns.Name},
		{"ip", "link", "add", ns.HostIf, "type", "veth", "peer", "name", ns.NSIf},
		{"ip", "link", "set", ns.NSIf, "netns", ns.Name},
		{"ip", "addr", "add", ns.HostIP + "/30", "dev", ns.HostIf},
		{"ip", "link", "set", ns.HostIf, "up"},
		ns.inside("ip", "addr", "add", ns.NSIP+"/30", "dev", ns.NSIf),
		ns.inside("ip", "link", "set", ns.NSIf, "up"),
		ns.inside("ip", "link", "set", "lo", "up"),
	}
	for _, s := range steps {
		if out, err := run(s, ""); err != nil {
			t.Fatalf("netnstest: %v\n%s", err, out)
		}
	}
	return ns
}

// Command returns the command args[0] with args[1:], to be run inside the
// namespace (ip netns exec, which execs in place: the process started is
// the program itself, so its pid is the program's).
func (ns *NS) Command(args ...string) *exec.Cmd {
	a := ns.inside(args...)
	return exec.Command(a[0], a[1:]...)
}

// Run runs args inside the namespace and returns its combined output,
// calling t.Fatal when it fails.
func (ns *NS) Run(args ...string) string {
	ns.t.Helper()
	out, err := run(ns.inside(args...), "")
	if err != nil {
		ns.t.Fatalf("netnstest: %v\n%s", err, out)
	}
	return out
}

// Drop makes the namespace lose pct percent of what it receives over the
// link, and the host pct percent of what it receives from the namespace:
// 100 is a blackout, 0 (or less) lifts it. Each side's rule is replaced in
// one nftables transaction, so moving from one share to another never lets
// a burst through.
func (ns *NS) Drop(pct int) {
	ns.t.Helper()
	ns.drop(pct, "")
}

// DropUDP is Drop for UDP only: TCP (a WebSocket) passes, as through a
// firewall that starts dropping UDP or a NAT that lost its UDP mappings.
// It replaces any earlier Drop or DropUDP.
func (ns *NS) DropUDP(pct int) {
	ns.t.Helper()
	ns.drop(pct, "meta l4proto udp ")
}

func (ns *NS) drop(pct int, match string) {
	ns.t.Helper()
	if pct <= 0 {
		ns.Lift()
		return
	}
	verdict := match + "drop"
	if pct < 100 {
		verdict = fmt.Sprintf("%snumgen random mod 100 < %d drop", match, pct)
	}
	if err := ns.nft(true, replace(nsTable, fmt.Sprintf("iifname %q %s", ns.NSIf, verdict))); err != nil {
		ns.t.Fatal(err)
	}
	if err := ns.nft(false, replace(ns.hostTable, fmt.Sprintf("iifname %q %s", ns.HostIf, verdict))); err != nil {
		ns.t.Fatal(err)
	}
}

// Lift removes the loss, if any.
func (ns *NS) Lift() {
	ns.t.Helper()
	if err := ns.lift(); err != nil {
		ns.t.Fatal(err)
	}
}

func (ns *NS) lift() error {
	// Declaring the table first makes deleting it succeed when it is absent.
	const del = "table inet %[1]s {}\ndelete table inet %[1]s\n"
	if err := ns.nft(true, fmt.Sprintf(del, nsTable)); err != nil {
		return err
	}
	return ns.nft(false, fmt.Sprintf(del, ns.hostTable))
}

// replace is a ruleset that makes table hold one input chain with rule,
// replacing whatever it held. One statement a line: nft wants a newline,
// not a semicolon, before "}".
func replace(table, rule string) string {
	return fmt.Sprintf("table inet %[1]s {}\ndelete table inet %[1]s\n"+
		"table inet %[1]s {\n chain in {\n  type filter hook input priority 0;\n  %[2]s\n }\n}\n", table, rule)
}

// nft loads a ruleset (nft -f -), inside the namespace or on the host.
func (ns *NS) nft(inside bool, rules string) error {
	args := []string{"nft", "-f", "-"}
	if inside {
		args = ns.inside(args...)
	}
	if out, err := run(args, rules); err != nil {
		return fmt.Errorf("netnstest: nft %q: %v\n%s", rules, err, out)
	}
	return nil
}

// remove undoes New, as far as New got; it reports what it could not undo
// but goes on, so one failure leaves as little behind as possible.
func (ns *NS) remove() {
	if _, err := os.Stat("/var/run/netns/" + ns.Name); err != nil {
		return // New failed before making anything
	}
	if err := ns.lift(); err != nil {
		ns.t.Error(err)
	}
	// Deleting the namespace takes the veth pair with it: the two ends go
	// together. The link deletion is for a namespace that never got its end.
	if out, err := run([]string{"ip", "netns", "del", ns.Name}, ""); err != nil {
		ns.t.Errorf("netnstest: %v\n%s", err, out)
	}
	exec.Command("ip", "link", "del", ns.HostIf).Run()
}

// inside prefixes args with ip netns exec.
func (ns *NS) inside(args ...string) []string {
	return append([]string{"ip", "netns", "exec", ns.Name}, args...)
}

// run runs args with stdin and returns its combined output.
func run(args []string, stdin string) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	return string(out), err
}
