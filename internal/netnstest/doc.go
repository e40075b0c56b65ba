// Package netnstest gives a test a network namespace of its own, joined to
// the host by a veth pair, whose traffic the test can thin or cut with
// nftables. The kernel on the project's machines has no netem, but
// namespaces and nftables work, and they are enough to make the faults a
// call must survive: a blackout (100 % loss) and random loss.
//
// A program under test runs inside (Command, or DialContext for a socket of
// the test process itself); the peer it talks to listens on the host's end
// of the link (HostIP):
//
//	ns := netnstest.New(t) // t.Fatal unless root; removed at t.Cleanup
//	srv := listenOn(ns.HostIP + ":0")
//	cmd := ns.Command("voipd", "-config", cfg)
//	ns.Drop(100) // a blackout, both ways
//	ns.Drop(20)  // 20 % of what each side receives from the other
//	ns.Drop(0)   // the network is back
//
// Loss is made on input hooks only, of packets that crossed the veth: on an
// output hook the sender gets an error back and retries at once, which is
// no loss at all; and the namespace's own loopback (a DevTools socket, a
// local helper) is never touched.
//
// It needs Linux (network namespaces; on other systems the package holds
// only this comment, and the tests that use it are built for Linux only),
// root (CI runs as root) and the ip and nft commands (iproute2 and
// nftables; scripts/deps.sh installs both).
package netnstest
