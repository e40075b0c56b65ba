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
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/internal/timerslack"
)

func main() {
	path := flag.String("config", config.DefaultPath, "the config file")
	flag.Parse()
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "voipd:", err)
		os.Exit(2)
	}
	if err := applyTimerSlack(time.Duration(cfg.Runtime.TimerSlack)); err != nil {
		fmt.Fprintln(os.Stderr, "voipd: warning:", err) // the call works; it wakes more often
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

// applyTimerSlack reaches runtime.timerSlack. internal/timerslack's
// constructor set its default on the main thread before Go's runtime
// started; any other value means executing voipd again (same pid, open
// files, arguments) with timerslack.EnvVar naming it, as a thread's slack
// only reaches the threads it creates later. It returns nil on success or
// when there is nothing to do, else why the slack is not the configured
// one (voipd goes on with the slack it has). It does not return when it
// executes voipd again.
func applyTimerSlack(want time.Duration) error {
	env := os.Getenv(timerslack.EnvVar)
	os.Unsetenv(timerslack.EnvVar) // voipd's own business: not for what it starts
	if err := timerslack.Err(); err != nil {
		return err
	}
	target, reexec := timerslack.Plan(want, timerslack.Current(), timerslack.Inherited(), timerslack.Passed(env))
	if !reexec {
		if cur := timerslack.Current(); cur != target {
			if env != "" {
				return fmt.Errorf("timer slack %v (%s=%s in the environment), not the configured %v", cur, timerslack.EnvVar, env, target)
			}
			return fmt.Errorf("timer slack %v, not the configured %v", cur, target)
		}
		return nil
	}
	os.Setenv(timerslack.EnvVar, timerslack.EnvValue(target))
	err := syscall.Exec("/proc/self/exe", os.Args, os.Environ())
	os.Unsetenv(timerslack.EnvVar)
	return fmt.Errorf("timer slack %v: executing voipd again: %w", target, err)
}
