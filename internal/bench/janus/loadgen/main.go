// Command loadgen is the load generator of the roomd vs Janus vs LiveKit
// forwarding benchmark (package janus, run by ../run.sh): it measures one
// server, or prints the markdown report from the measurements.
//
//	loadgen measure -server roomd -url ws://127.0.0.1:P/ws -app-id ID -app-secret S -pid PID -out roomd.json
//	loadgen measure -server janus -url http://127.0.0.1:P/janus -media-ip IP -pid PID -out janus.json
//	loadgen measure -server livekit -url ws://127.0.0.1:P -api-key K -api-secret S -pid PID -out livekit.json
//	loadgen report -roomd roomd.json [-janus janus.json] [-janus-note TEXT] [-livekit livekit.json] [-livekit-note TEXT] [-versions TEXT]
//
// -n (default $BENCH_FORWARD_N or 5,10,20,40) are the subscriber counts and
// -seconds (default $BENCH_FORWARD_SECONDS or 10) the window at each. It
// should run pinned to a core of its own (taskset -c 0), the server to
// another.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/voipd/voipd/internal/bench/janus"
	"github.com/voipd/voipd/roomd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen measure|report [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "measure":
		err = measure(ctx, os.Args[2:])
	case "report":
		err = report(os.Args[2:], os.Stdout)
	default:
		err = fmt.Errorf("unknown command %q (measure or report)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

func measure(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen measure", flag.ContinueOnError)
	server := fs.String("server", "", "roomd, janus or livekit")
	url := fs.String("url", "", "roomd's ws://…/ws, Janus's http://…/janus or LiveKit's ws://…")
	apiKey := fs.String("api-key", "", "livekit: the API key to mint access tokens with")
	apiSecret := fs.String("api-secret", "", "livekit: its secret")
	appID := fs.String("app-id", "", "roomd: the app id to sign joins for")
	appSecret := fs.String("app-secret", "", "roomd: its secret")
	pid := fs.Int("pid", 0, "the server's process id")
	ns := fs.String("n", envOr("BENCH_FORWARD_N", "5,10,20,40"), "subscriber counts")
	secs := fs.Float64("seconds", envFloat("BENCH_FORWARD_SECONDS", 10), "measured window per N")
	out := fs.String("out", "", "JSON file for the points")
	mediaIP := fs.String("media-ip", "", "janus: the host address Janus's ICE is enforced to (its libnice skips lo)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	counts, err := parseNs(*ns)
	if err != nil {
		return err
	}
	if *pid <= 0 || *url == "" || *out == "" {
		return errors.New("measure needs -pid, -url and -out")
	}
	cfg := janus.Config{PID: *pid, Ns: counts, Window: time.Duration(*secs * float64(time.Second)), Log: os.Stderr}
	var start janus.Starter
	switch *server {
	case "roomd":
		cfg.Server = "roomd"
		start = janus.RoomdStarter(*url, roomd.App{ID: *appID, Secret: *appSecret})
	case "janus":
		cfg.Server = "Janus"
		var ip net.IP
		if *mediaIP != "" {
			if ip = net.ParseIP(*mediaIP); ip == nil {
				return fmt.Errorf("-media-ip %q is not an IP address", *mediaIP)
			}
		}
		start = janus.JanusStarter(*url, ip)
	case "livekit":
		cfg.Server = "LiveKit"
		start = janus.LiveKitStarter(*url, *apiKey, *apiSecret)
	default:
		return fmt.Errorf("-server %q: roomd, janus or livekit", *server)
	}
	fmt.Fprintf(os.Stderr, "loadgen: %s, GOMAXPROCS %d, N %v, %v windows\n", cfg.Server, runtime.GOMAXPROCS(0), counts, cfg.Window)
	points, err := janus.Measure(ctx, cfg, start)
	if len(points) > 0 {
		if werr := writeJSON(*out, points); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

func report(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("loadgen report", flag.ContinueOnError)
	roomdFile := fs.String("roomd", "", "roomd's points")
	janusFile := fs.String("janus", "", "Janus's points")
	note := fs.String("janus-note", "", "why Janus has no points, if it has none")
	lkFile := fs.String("livekit", "", "LiveKit's points")
	lkNote := fs.String("livekit-note", "", "why LiveKit has no points, if it has none")
	versions := fs.String("versions", "", "Go, Janus and the like, for the header")
	secs := fs.Float64("seconds", envFloat("BENCH_FORWARD_SECONDS", 10), "the window per N")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rp, err := readJSON(*roomdFile)
	if err != nil {
		return err
	}
	jp, err := readJSON(*janusFile)
	if err != nil {
		return err
	}
	lp, err := readJSON(*lkFile)
	if err != nil {
		return err
	}
	run := janus.Run{
		When:      time.Now().UTC().Format("2006-01-02T15:04Z"),
		Machine:   machine(),
		Versions:  *versions,
		Window:    *secs,
		Target:    0.8,
		JanusNote: *note,

		LiveKitNote: *lkNote,
	}
	return janus.Report(w, run, rp, jp, lp)
}

// machine is "2 cores, <model>" from /proc/cpuinfo.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores, %s", runtime.NumCPU(), model)
}

func parseNs(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-n %q: want positive counts separated by commas", s)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

func writeJSON(path string, points []janus.Point) error {
	b, err := json.MarshalIndent(points, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// readJSON reads a measurement; an empty path or a missing file is none.
func readJSON(path string) ([]janus.Point, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ps []janus.Point
	if err := json.Unmarshal(b, &ps); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envFloat(k string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(k), 64); err == nil && v > 0 {
		return v
	}
	return def
}
