// Command voipctl is the command-line client of voipd's control socket
// (the control API, README.md): every method is reachable from it.
//
//	voipctl [-socket PATH] [-config PATH] METHOD [JSON-params]
//	voipctl [-socket PATH] [-config PATH] events [NAME...]
//	voipctl [-config PATH] sign -groupId G
//
// A method call prints the result as one compact JSON line and exits 0; a
// JSON-RPC error prints "errCode errMsg" on stderr and exits 1. events
// prints each event as one JSON line {"event": NAME, "data": PARAMS} until
// interrupted. sign prints {"signature", "nonceStr", "timeStamp"} for a
// joinVoIPChat, from the identity in voipd's config. Exit status 2 means
// voipctl could not talk to voipd at all (bad usage, unreadable config, no
// socket, connection lost).
//
// The socket is, first to last: -socket, $VOIPD_SOCKET, control.socket of the
// file named by -config, /run/voipd/control.sock.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
