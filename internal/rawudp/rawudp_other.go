//go:build !linux

package rawudp

import (
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// New returns pion's standard network: raw socket calls are Linux's here.
func New() (transport.Net, error) {
	return stdnet.NewNet()
}
