package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"
)

// pollInterval is how often WaitFor re-evaluates its condition: often enough
// that a test does not idle, rarely enough not to load a 2-core machine.
const pollInterval = 100 * time.Millisecond

// maxConsole is how many of a page's last console lines are kept.
const maxConsole = 200

// Page is one browser tab. Its methods may be called from one goroutine at a
// time (a tab runs one command stream); different pages may be used in
// parallel.
type Page struct {
	ctx    context.Context // the tab's chromedp context
	cancel context.CancelFunc
	url    string

	mu      sync.Mutex
	console []string
}

// Eval evaluates the JavaScript expression js in the page, awaits it when it
// is a promise, and decodes its JSON value into out (which may be nil to
// ignore the value). A thrown exception or rejected promise is an error.
// The expression is not inside a function, so `await` needs an async arrow:
// `(async () => (await f()).x)()`; a promise-returning call needs none.
func (p *Page) Eval(ctx context.Context, js string, out any) error {
	raw, err := evalRaw(ctx, p, js)
	if err != nil {
		return fmt.Errorf("browsertest: eval %q: %w", js, err)
	}
	if out == nil {
		return nil
	}
	if len(raw) == 0 {
		return fmt.Errorf("browsertest: eval %q: result is undefined", js)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("browsertest: eval %q: decoding %s: %w", js, raw, err)
	}
	return nil
}

// WaitFor polls the JavaScript condition until it is truthy or ctx ends. The
// condition is an expression evaluated inside an async function, so it may
// use await: `(await window.voipd.stats()).inboundAudio.length > 0`. Exceptions while polling count as
// false, so a condition may touch objects the page has not created yet. The
// error on timeout names the condition, the last exception and the page's
// last console lines.
func (p *Page) WaitFor(ctx context.Context, condition string) error {
	js := "(async () => !!(" + condition + "))()"
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	var lastErr error
	for {
		raw, err := evalRaw(ctx, p, js)
		switch {
		case err == nil && string(raw) == "true":
			return nil
		case err != nil && ctx.Err() == nil:
			lastErr = err
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("browsertest: waiting for %s on %s: %v", condition, p.url, ctx.Err())
			if lastErr != nil {
				msg += fmt.Sprintf(" (last evaluation error: %v)", lastErr)
			}
			if c := p.Console(); len(c) > 0 {
				msg += "\npage console (last lines):\n  " + strings.Join(tail(c, 20), "\n  ")
			}
			return errors.New(msg)
		case <-t.C:
		}
	}
}

// Viewport makes the tab's screen width × height CSS pixels, a phone's
// (touch, mobile viewport rules) when mobile.
func (p *Page) Viewport(ctx context.Context, width, height int64, mobile bool) error {
	opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if width > height {
		opts[0] = chromedp.EmulateLandscape
	}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	if err := p.run(ctx, chromedp.EmulateViewport(width, height, opts...)); err != nil {
		return fmt.Errorf("browsertest: viewport: %w", err)
	}
	return nil
}

// Twice is a JavaScript expression, for a WaitFor condition, whose value
// is [a, b]: the async expression expr evaluated, then again gap later.
// Comparing them says whether something moved meanwhile (packets sent),
// with the waiting in the browser rather than in a Go sleep.
func Twice(expr string, gap time.Duration) string {
	return fmt.Sprintf(`await (async () => {
		const f = async () => (%s);
		const a = await f();
		await new Promise((r) => setTimeout(r, %d));
		return [a, await f()];
	})()`, expr, gap.Milliseconds())
}

// Press types keys into the focused element as a keyboard would (trusted
// key events): "\t" is Tab, "\r" Enter, " " Space.
func (p *Page) Press(ctx context.Context, keys string) error {
	if err := p.run(ctx, chromedp.KeyEvent(keys)); err != nil {
		return fmt.Errorf("browsertest: press %q: %w", keys, err)
	}
	return nil
}

// Screenshot writes a PNG of the page's viewport to path.
func (p *Page) Screenshot(ctx context.Context, path string) error {
	png, err := run(ctx, p, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("browsertest: screenshot: %w", err)
	}
	return os.WriteFile(path, png, 0o644)
}

// Console returns the page's console messages so far (the last 200), each as
// "type: text", uncaught exceptions included.
func (p *Page) Console() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// Close closes the tab, which ends its scripts, sockets and peer
// connections as a user closing it would.
func (p *Page) Close() {
	p.cancel()
}

func (p *Page) run(ctx context.Context, steps ...chromedp.Action[chromedp.Void]) error {
	_, err := run(ctx, p, chromedp.Steps(steps...))
	return err
}

// run runs a on the page's tab, bounded by ctx as well as by the tab's life.
func run[T any](ctx context.Context, p *Page, a chromedp.Action[T]) (T, error) {
	rctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	v, err := chromedp.Run(rctx, a)
	if err != nil && ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	return v, err
}

// evalRaw returns the JSON of the expression's value, empty for undefined.
func evalRaw(ctx context.Context, p *Page, js string) ([]byte, error) {
	return run(ctx, p, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
}

func (p *Page) collectConsole(msgs iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range msgs {
		if err != nil {
			return // the tab is closed
		}
		p.mu.Lock()
		p.console = append(p.console, m.String())
		if len(p.console) > maxConsole {
			p.console = append(p.console[:0], p.console[len(p.console)-maxConsole:]...)
		}
		p.mu.Unlock()
	}
}

func tail(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
