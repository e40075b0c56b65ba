package daemon

import (
	"log/slog"
	"os/user"
	"strconv"
	"strings"

	"github.com/voipd/voipd/daemon/control"
	"github.com/voipd/voipd/daemon/session"
)

// The scopes a client's credentials grant (config [scopes]).
const (
	scopeRecord = "scope.record"
	scopeCamera = "scope.camera"
)

// checkScope grants a scope to the peer if any entry of the config's grants
// for it matches its credentials ("*", "user:NAME", "uid:N", "group:NAME",
// "gid:N"). The refusal's code follows the method's family (seed.go).
func (d *Daemon) checkScope(fam family, p control.Peer, scope string) error {
	grants := d.cfg.Scopes.Record
	if scope == scopeCamera {
		grants = d.cfg.Scopes.Camera
	}
	for _, g := range grants {
		if grantMatches(g, p) {
			return nil
		}
	}
	d.log.Warn("scope refused", "scope", scope, "uid", p.UID, "gid", p.GID)
	f := session.Fail(session.ErrSystem, session.ReasonScope, "the client (uid %d) lacks %s", p.UID, scope)
	f.Scope = scope
	if fam == famRTC {
		f.Detail = "auth deny" // Douyin's text for a refused scope
	}
	return f
}

// ControlConfig is the control server's configuration from [control]:
// its limits and timeouts, root and control.trusted's peers as the ones
// that may use the reserve, and the events a client may subscribe to.
func (d *Daemon) ControlConfig(log *slog.Logger) control.Config {
	cc := d.cfg.Control
	reserved := cc.ReservedClients
	if reserved == 0 {
		reserved = -1 // none: the control package's 0 is its default
	}
	return control.Config{
		MaxClients: cc.MaxClients, MaxClientsPerUser: cc.MaxClientsPerUser, Reserved: reserved,
		Trusted: func(p control.Peer) bool {
			for _, g := range cc.Trusted {
				if grantMatches(g, p) {
					return true
				}
			}
			return false
		},
		LineTimeout: cc.LineTimeout.D(), IdleTimeout: cc.IdleTimeout.D(),
		Events: EventNames, Logger: log,
	}
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
