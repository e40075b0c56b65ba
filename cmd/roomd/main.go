// Command roomd is the room server: signalling, the SFU, join checks and
// the browser client (package roomd).
//
//	roomd -config /etc/roomd/roomd.toml
//	roomd -listen :8443 -app-id ID -app-secret-file FILE [-dev] [-udp-port N] [-public-ip IP] [-tls-cert F -tls-key F]
//	roomd sign -openid O -groupId G [-config PATH | -app-id ID ...]
//	roomd token -roomId R -userId U [-ttl D] [-subscribe-only] [-config PATH | -app-id ID ...]
//
// The app secret may also come from $ROOMD_APP_SECRET. SIGTERM or SIGINT
// stops it cleanly.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
