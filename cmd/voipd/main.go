// Command voipd is the device daemon: it joins voice rooms on command from a
// local control socket (the control API, README.md), capturing the
// microphone and playing the room on the speaker.
//
//	voipd -config /etc/voipd/config.toml
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/voipd/voipd/daemon/config"
)

func main() {
	path := flag.String("config", config.DefaultPath, "the config file")
	flag.Parse()
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "voipd:", err)
		os.Exit(2)
	}
	setMaxProcs(cfg.Runtime.MaxProcs, os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal now kills the process the default way
	}()
	if err := run(ctx, cfg, options{}); err != nil {
		fmt.Fprintln(os.Stderr, "voipd:", err)
		os.Exit(1)
	}
}

// setMaxProcs applies runtime.maxProcs: GOMAXPROCS n, unless n is 0 (Go's
// default) or the environment sets GOMAXPROCS (the runtime took that at
// start). It returns the GOMAXPROCS in effect.
func setMaxProcs(n int, getenv func(string) string) int {
	if n > 0 && getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(n)
	}
	return runtime.GOMAXPROCS(0)
}
