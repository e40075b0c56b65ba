// Package metrics serves voipd's and roomd's Prometheus metrics: the
// process and Go runtime collectors of the Prometheus Go client, and each
// daemon's own series, read at scrape time from counters the daemons keep
// anyway (media.Totals, daemon.Counters, roomd.Server.Metrics), so that
// metrics cost the media path nothing.
//
// Names follow Prometheus' conventions: a daemon prefix, base units
// (seconds, bytes), counters ending in _total. Labels stay bounded: kinds,
// directions, methods and codes, devices, reasons; never a member or room
// id.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry holding the process and Go runtime
// collectors and cs.
func NewRegistry(cs ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	reg.MustRegister(cs...)
	return reg
}

// Serve serves reg's metrics at http://addr/metrics until ctx ends. addr
// must be a loopback host:port: metrics describe the device's calls and
// are for a local agent (a Prometheus agent, a sidecar) to scrape and
// forward. It returns the metrics URL (addr's port 0 resolved).
func Serve(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) (string, error) {
	if err := CheckLoopback(addr); err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogErrors{log}}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	url := "http://" + ln.Addr().String() + "/metrics"
	log.Info("metrics", "url", url)
	return url, nil
}

// CheckLoopback says why addr is not a loopback host:port, or nil.
func CheckLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("metrics address %q: want a loopback host:port like 127.0.0.1:9464: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("metrics address %q: metrics are served on loopback only (127.0.0.1, ::1 or localhost)", addr)
	}
	return nil
}

type slogErrors struct{ log *slog.Logger }

func (s slogErrors) Println(v ...any) { s.log.Warn("metrics", "err", fmt.Sprint(v...)) }
