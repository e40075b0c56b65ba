// Package loopserve serves an HTTP handler on a loopback address only: the
// daemons' side doors (the profiler, metrics) that describe the device and
// are for a local agent or a developer, never for the network.
package loopserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Check says why addr is not a loopback host:port (127.0.0.0/8, ::1 or
// localhost), naming it as name's address and giving why loopback only;
// nil when it is one.
func Check(name, addr, why string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s address %q: want a loopback host:port like 127.0.0.1:PORT: %w", name, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s address %q: %s", name, addr, why)
	}
	return nil
}

// Serve checks addr (Check), listens on it and serves h until ctx ends,
// returning the address it listens on (port 0 resolved). Serving errors
// after the start are logged as name's.
func Serve(ctx context.Context, name, addr, why string, h http.Handler, log *slog.Logger) (net.Addr, error) {
	if err := Check(name, addr, why); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s address %q: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn(name, "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	return ln.Addr(), nil
}
