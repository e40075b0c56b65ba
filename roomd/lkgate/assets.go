package lkgate

import (
	"embed"
	"io/fs"
)

// vendor holds LiveKit's browser client when scripts/livekit-client.sh put
// it there (vendor/README.md), for the browser page to join rooms on
// LiveKit through this gateway.
//
//go:embed vendor
var vendor embed.FS

// Assets is what roomd serves under /vendor/ in gateway mode.
func (g *Gateway) Assets() fs.FS {
	sub, _ := fs.Sub(vendor, "vendor")
	return sub
}
