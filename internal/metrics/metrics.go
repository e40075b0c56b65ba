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
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/voipd/voipd/internal/loopserve"
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
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slogErrors{log}}))
	at, err := loopserve.Serve(ctx, "metrics", addr, loopbackOnly, mux, log)
	if err != nil {
		return "", err
	}
	url := "http://" + at.String() + "/metrics"
	log.Info("metrics", "url", url)
	return url, nil
}

const loopbackOnly = "metrics are served on loopback only (127.0.0.1, ::1 or localhost)"

// CheckLoopback says why addr is not a loopback host:port, or nil.
func CheckLoopback(addr string) error { return loopserve.Check("metrics", addr, loopbackOnly) }

type slogErrors struct{ log *slog.Logger }

func (s slogErrors) Println(v ...any) { s.log.Warn("metrics", "err", fmt.Sprint(v...)) }
