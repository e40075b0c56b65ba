//go:build !linux

package rawudp

import (
	"net"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// New returns pion's standard network: raw socket calls are Linux's here.
func New() (transport.Net, error) {
	return stdnet.NewNet()
}

// Conn is never made here: Wrap leaves every socket to net.
type Conn struct {
	*net.UDPConn
}

// Wrap returns nil: c is to be used as it is.
func Wrap(c *net.UDPConn) (*Conn, error) { return nil, nil }
