package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/voipd/voipd/daemon/config"
)

// Exit statuses.
const (
	exitOK       = 0
	exitRPCError = 1 // voipd answered with an error
	exitFailure  = 2 // usage, config, or no conversation with voipd
)

const (
	defaultSocket = "/run/voipd/control.sock"
	defaultConfig = "/etc/voipd/config.toml"
)

const usage = `usage:
  voipctl [-socket PATH] [-config PATH] METHOD [JSON-params]
  voipctl [-socket PATH] [-config PATH] events [NAME...]
  voipctl [-config PATH] sign -groupId G

A method prints its JSON result on one line (exit 0), or "errCode errMsg" on
stderr (exit 1). events prints {"event": NAME, "data": PARAMS} per line.
Exit 2: bad usage or config, or voipd could not be reached.
Socket: -socket, else $VOIPD_SOCKET, else control.socket from -config, else
` + defaultSocket + ".\n"

// run is voipctl without the process: arguments in, exit status out.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("voipctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	socket := fs.String("socket", "", "control socket `path`")
	cfgPath := fs.String("config", "", "voipd's config `file` (default "+defaultConfig+" for sign)")
	if err := fs.Parse(args); err != nil {
		return exitFailure
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return exitFailure
	}
	if rest[0] == "sign" {
		path := *cfgPath
		if path == "" {
			path = defaultConfig
		}
		return runSign(rest[1:], path, stdout, stderr)
	}
	path, err := socketPath(*socket, *cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "voipctl:", err)
		return exitFailure
	}
	if rest[0] == "events" {
		return runEvents(ctx, path, rest[1:], stdout, stderr)
	}
	if len(rest) > 2 {
		fmt.Fprintf(stderr, "voipctl: %s: want at most one JSON params argument, got %d\n", rest[0], len(rest)-1)
		return exitFailure
	}
	var params json.RawMessage
	if len(rest) == 2 {
		params = json.RawMessage(rest[1])
		if !json.Valid(params) {
			fmt.Fprintf(stderr, "voipctl: %s: params are not valid JSON: %s\n", rest[0], rest[1])
			return exitFailure
		}
	}
	return runCall(ctx, path, rest[0], params, stdout, stderr)
}

// socketPath picks the control socket: flag, environment, config, default.
func socketPath(flagValue, cfgPath string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if env := os.Getenv("VOIPD_SOCKET"); env != "" {
		return env, nil
	}
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return "", err
		}
		return cfg.Control.Socket, nil
	}
	return defaultSocket, nil
}
