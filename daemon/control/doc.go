// Package control is the transport of voipd's control socket: JSON-RPC 2.0
// over a Unix stream socket, one JSON object per line in each direction
// (the control API, README.md).
//
// The package knows nothing of rooms or devices. It accepts clients, reads
// their peer credentials (SO_PEERCRED plus supplementary groups on Linux,
// LOCAL_PEERCRED on macOS: peer.go), decodes
// request lines, hands each request to a Handler in its own goroutine so a
// slow method never holds up a later one, and writes the answers and the
// published events through one writer goroutine per connection (conn.go:
// the server's side of one connection). It also serves the two built-in
// methods, subscribe and unsubscribe.
//
// The lines themselves are declared once, in wire.go, and exported for
// clients: RequestLine (what a client sends), ServerLine (an answer or an
// event), ErrorObject and ErrorData (an error answer's "error" and its
// data). voipctl speaks the socket with these types.
//
// Limits keep one misbehaving client from stalling the daemon: a line over
// Config.MaxLine is refused and the connection closed, as is a line begun
// and not ended within Config.LineTimeout; at most Config.MaxClients
// clients are served, at most Config.MaxClientsPerUser of one uid, and the
// last Config.Reserved only to root and Config.Trusted peers (refusals.go
// logs refusals once per interval); a client idle for Config.IdleTimeout
// with nothing running and no subscription is closed; a client has at most
// 64 requests in flight (the reader stops reading beyond that, which pushes
// back on the client instead of growing memory), and an event subscriber
// whose queue fills is dropped and counted instead of blocking Publish.
package control
