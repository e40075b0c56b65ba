// Package systemd holds voipd's systemd units — voipd.service, voipd.socket
// and roomd.service — and the tests that check them with systemd-analyze:
// each unit verifies cleanly and the services' exposure scores stay at or
// below what was measured when the hardening was written. The package has no
// code; it exists so go test runs those checks with the rest of the tree.
package systemd
