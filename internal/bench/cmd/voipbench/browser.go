package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/voipd/voipd/internal/bench"
)

// browser is one headless Chromium process with one page: the room's
// browser client. The flags are internal/browsertest's (known to work on
// the project's machines), with the fake camera at 30 fps so its call is
// the same 640x480@30 as voipd's.
type browser struct {
	ctx     context.Context
	cancel  func()
	pid     int
	profile string
}

func startBrowser(parent context.Context) (*browser, error) {
	profile, err := os.MkdirTemp("", "voipbench-chromium-")
	if err != nil {
		return nil, err
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"),
		chromedp.UserDataDir(profile),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("use-fake-device-for-media-stream", "fps=30"),
	}
	for _, f := range []string{"headless", "no-sandbox", "disable-gpu", "use-fake-ui-for-media-stream",
		"disable-background-networking", "no-first-run", "disable-component-update", "disable-sync", "disable-quic"} {
		opts = append(opts, chromedp.Flag(f, true))
	}
	actx, acancel := chromedp.NewExecAllocator(parent, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	b := &browser{ctx: bctx, profile: profile, cancel: func() { bcancel(); acancel(); os.RemoveAll(profile) }}
	// The first run launches the browser, which lives as long as that
	// run's context: it gets the browser's own, and a timer bounds it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err := <-started:
		if err != nil {
			b.cancel()
			return nil, fmt.Errorf("starting chromium: %w", err)
		}
	case <-time.After(60 * time.Second):
		b.cancel()
		return nil, fmt.Errorf("chromium did not start within 60 s")
	}
	b.pid = chromedp.FromContext(bctx).Browser.Process().Pid
	return b, nil
}

// pin moves every thread of the browser's process tree to cpus; processes
// forked later (renderers, from the pinned zygote) inherit it.
func (b *browser) pin(cpus string) error {
	if cpus == "" {
		return nil
	}
	pids, err := bench.Descendants("/proc", b.pid)
	if err != nil {
		return err
	}
	for _, p := range pids {
		exec.Command("taskset", "-a", "-c", "-p", cpus, strconv.Itoa(p)).Run() // a process may be gone
	}
	return nil
}

func (b *browser) navigate(url string) error {
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Navigate(url))
}

// eval evaluates expr in the page, awaiting a promise (for up to d), into res.
func (b *browser) eval(d time.Duration, expr string, res any) error {
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	if len(raw) == 0 {
		return fmt.Errorf("chromium: %s is undefined", expr)
	}
	return json.Unmarshal(raw, res)
}

// waitFor polls expr (a boolean) until it holds or d passes.
func (b *browser) waitFor(expr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		var ok bool
		err := b.eval(10*time.Second, expr, &ok)
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			var last any
			b.eval(5*time.Second, `JSON.stringify({state: window.voipd && window.voipd.state, err: window.voipd && window.voipd.lastError})`, &last)
			return fmt.Errorf("chromium: %s not within %v (err %v, page %v)", expr, d, err, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
