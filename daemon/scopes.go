package daemon

import (
	"os/user"
	"strconv"
	"strings"

	"github.com/voipd/voipd/daemon/control"
)

// checkScope grants a scope to the peer if any entry of grants matches its
// credentials (config [scopes]: "*", "user:NAME", "uid:N", "group:NAME",
// "gid:N"). Group rooms answer a missing scope with -1000 reason "scope":
// their seed lists no other code.
func (d *Daemon) checkScope(method string, p control.Peer, scope string, grants []string) error {
	for _, g := range grants {
		if grantMatches(g, p) {
			return nil
		}
	}
	d.log.Warn("scope refused", "scope", scope, "uid", p.UID, "gid", p.GID)
	f := fail(kindSystem, reasonScope, "the client (uid %d) lacks %s", p.UID, scope)
	f.scope = scope
	if familyOf(method) == famRTC {
		f.detail = "auth deny" // Douyin's text for a refused scope
	}
	return f
}

func grantMatches(g string, p control.Peer) bool {
	if g == "*" {
		return true
	}
	kind, val, _ := strings.Cut(g, ":")
	switch kind {
	case "uid", "user":
		id, ok := numeric(val)
		if !ok && kind == "user" {
			u, err := user.Lookup(val)
			if err != nil {
				return false
			}
			id, ok = numeric(u.Uid)
		}
		return ok && id == p.UID
	case "gid", "group":
		id, ok := numeric(val)
		if !ok && kind == "group" {
			gr, err := user.LookupGroup(val)
			if err != nil {
				return false
			}
			id, ok = numeric(gr.Gid)
		}
		return ok && p.InGroup(id)
	}
	return false
}

func numeric(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}
