package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/voipd/voipd/internal/metrics"
	"github.com/voipd/voipd/internal/pprofserve"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
	"github.com/voipd/voipd/roomd/lkgate"
)

// run is roomd's whole command line; ctx ending (a signal) stops the server.
// It returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) > 0 && args[0] == "sign" {
		return sign(args[1:], stdout, stderr, getenv)
	}
	if len(args) > 0 && args[0] == "token" {
		return mintToken(args[1:], stdout, stderr, getenv) // token.go
	}
	f := newFlags("roomd", stderr)
	f.addServeFlags()
	if err := f.fs.Parse(args); err != nil {
		return usageCode(err)
	}
	if f.fs.NArg() > 0 {
		fmt.Fprintf(stderr, "roomd: unexpected argument %q\n", f.fs.Arg(0))
		return 2
	}
	cfg, err := f.load(getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "roomd: %v\n", err)
		return 1
	}
	if _, err := pprofserve.Start(ctx, f.pprof, cfg.Logger); err != nil {
		fmt.Fprintf(stderr, "roomd: -pprof: %v\n", err)
		return 1
	}
	if f.gatewayTo != nil {
		f.gatewayTo.Logger = cfg.Logger
		gw, err := lkgate.New(*f.gatewayTo)
		if err != nil {
			fmt.Fprintf(stderr, "roomd: %v\n", err)
			return 1
		}
		defer gw.Close()
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := gw.Ping(pingCtx); err != nil {
			// Not fatal: Redis may come up after roomd. Until it answers,
			// joins are refused (reason internal) and the log says why.
			cfg.Logger.Warn("gateway: Redis does not answer yet; joins are refused until it does", "err", err)
		}
		cancel()
		cfg.Gateway = gw
		cfg.Logger.Info("gateway mode: joins go to LiveKit", "livekit", f.gatewayTo.URL)
	}
	if err := serve(ctx, cfg, stdout, f.metrics); err != nil {
		fmt.Fprintf(stderr, "roomd: %v\n", err)
		return 1
	}
	return 0
}

// serve runs the server until ctx ends, printing the URL it serves on,
// and its metrics on metricsAddr unless that is "".
func serve(ctx context.Context, cfg roomd.Config, stdout io.Writer, metricsAddr string) error {
	if metricsAddr != "" {
		if err := metrics.CheckLoopback(metricsAddr); err != nil {
			return fmt.Errorf("-metrics-listen: %w", err)
		}
	}
	srv, err := roomd.New(cfg)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = srv.Start(startCtx)
	cancel()
	if err != nil {
		return err
	}
	if metricsAddr != "" {
		if _, err := metrics.Serve(ctx, metricsAddr, metrics.NewRegistry(metrics.NewRoomd(srv.Metrics)), cfg.Logger); err != nil {
			srv.Close()
			return fmt.Errorf("-metrics-listen: %w", err)
		}
	}
	fmt.Fprintln(stdout, srv.URL())
	<-ctx.Done()
	cfg.Logger.Info("stopping")
	return srv.Close()
}

// signOutput is what `roomd sign` prints: what an operator's backend hands
// a device (its session key) and one signed join.
type signOutput struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"sessionKey"`
	GroupID    string `json:"groupId"`
	NonceStr   string `json:"nonceStr"`
	TimeStamp  int64  `json:"timeStamp"`
	Signature  string `json:"signature"`
}

func sign(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	f := newFlags("roomd sign", stderr)
	openid := f.fs.String("openid", "", "the member's openid (required)")
	groupID := f.fs.String("groupId", "", "the room's groupId (required)")
	if err := f.fs.Parse(args); err != nil {
		return usageCode(err)
	}
	switch {
	case *openid == "":
		fmt.Fprintln(stderr, "roomd sign: -openid is required")
		return 2
	case *groupID == "":
		fmt.Fprintln(stderr, "roomd sign: -groupId is required")
		return 2
	}
	cfg, err := f.load(getenv, io.Discard)
	if err != nil {
		fmt.Fprintf(stderr, "roomd sign: %v\n", err)
		return 1
	}
	app := cfg.Apps[0]
	s := roomd.Sign(app, *openid, *groupID, time.Now())
	out := signOutput{
		OpenID:     s.OpenID,
		SessionKey: proto.SessionKey(app.Secret, *openid),
		GroupID:    s.GroupID,
		NonceStr:   s.NonceStr,
		TimeStamp:  s.TimeStamp,
		Signature:  s.Signature,
	}
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "roomd sign: %v\n", err)
		return 1
	}
	return 0
}

func usageCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
