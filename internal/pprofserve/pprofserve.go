// Package pprofserve serves Go's profiler (net/http/pprof) for voipd and
// roomd behind a config switch, on loopback only: a profile shows where a
// call's CPU goes (docs/BENCHMARKS.md names the top costs from one).
package pprofserve

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/pprof"

	"github.com/voipd/voipd/internal/loopserve"
)

// Start serves the profiler on addr (a loopback host:port) until ctx ends,
// returning the URL it serves on. An empty addr serves nothing.
func Start(ctx context.Context, addr string, log *slog.Logger) (string, error) {
	if addr == "" {
		return "", nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	at, err := loopserve.Serve(ctx, "pprof", addr, "profiles expose the process; serve them on loopback only", mux, log)
	if err != nil {
		return "", err
	}
	url := "http://" + at.String() + "/debug/pprof/"
	log.Info("profiler", "url", url)
	return url, nil
}
