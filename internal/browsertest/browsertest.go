// Package browsertest drives Debian's headless Chromium from Go tests, so the
// project's browser client is tested in a real browser with a real WebRTC
// stack rather than a mock.
//
// Chromium runs with a fake microphone and camera (the fake audio device
// plays a periodic beep, so a far side sees audioLevel > 0), auto-granted
// media permissions and autoplay without a user gesture. One test starts one
// browser; every page is a tab of it:
//
//	b := browsertest.Start(t) // t.Fatal if /usr/bin/chromium is missing
//	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
//	defer cancel()
//	p, err := b.Open(ctx, srv.URL()+"/?groupId=g1&openid=alice&autojoin=1")
//	if err != nil { t.Fatal(err) }
//	err = p.WaitFor(ctx, `window.voipd && window.voipd.state === "joined"`) // polls
//	err = p.WaitFor(ctx, `(await window.voipd.stats()).inboundAudio.length > 0`)
//	var members []string
//	err = p.Eval(ctx, `window.voipd.members`, &members)
//	var st struct{ OutboundAudio struct{ PacketsSent int } }
//	err = p.Eval(ctx, `window.voipd.stats()`, &st) // promises are awaited
//
// The window.voipd object above is the test hook of roomd's browser client
// (state, members, speakers, lastError, muteConfig, stats(), join(), leave(),
// setMute()); roomd/web/app.js documents it.
//
// StartWith runs Chromium inside a network namespace of the test's
// (internal/netnstest), so its WebRTC crosses the namespace's link and the
// loss the test puts on it; a page served on the link's host address is
// plain HTTP off localhost, so it names that origin as secure for
// getUserMedia:
//
//	ns := netnstest.New(t)
//	b := browsertest.StartWith(t, browsertest.Options{
//		Netns:           ns.Name,
//		InsecureOrigins: []string{"http://" + srvAddr}, // srvAddr on ns.HostIP
//	})
//
// Every call is bounded by the context it gets; the browser process is killed
// and its profile directory removed at t.Cleanup. When the test has failed,
// Cleanup logs the tail of Chromium's own output, and WaitFor's timeout error
// carries the page's last console lines, so a failure explains itself.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// startTimeout bounds the launch of Chromium itself; a healthy start takes
// well under a second, a wedged one must not hang the test binary.
const startTimeout = 60 * time.Second

// flags are exactly the switches known to work on the project's machines:
// fake media devices with auto-granted permission, autoplay without a
// gesture (remote audio plays, and so is decoded and measured), and nothing
// that reaches out to the network on its own.
var flags = []string{
	"headless", "no-sandbox", "disable-gpu",
	"use-fake-device-for-media-stream", "use-fake-ui-for-media-stream",
	"disable-background-networking", "no-first-run", "disable-component-update",
	"disable-sync", "disable-quic",
}

// Browser is one headless Chromium process, owned by one test.
type Browser struct {
	t      testing.TB
	ctx    context.Context // the browser's first (blank) tab; pages are siblings
	output *tailBuffer
}

// Start launches Chromium for the test t and registers its shutdown with
// t.Cleanup. It calls t.Fatal when Chromium is not installed (apt package
// "chromium") or does not start within a minute.
func Start(t testing.TB) *Browser {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith is Start with options: Chromium in a network namespace, origins
// treated as secure. Options{} is Start.
func StartWith(t testing.TB, o Options) *Browser {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("browsertest: %s not found (%v); install the Debian package chromium: apt-get install chromium", ChromiumPath, err)
	}
	profile, err := os.MkdirTemp("", "browsertest-profile-")
	if err != nil {
		t.Fatalf("browsertest: profile directory: %v", err)
	}
	out := &tailBuffer{max: 16 << 10}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.UserDataDir(profile),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.CombinedOutput(out),
	}
	for _, f := range flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	more, group, err := o.allocatorOptions()
	if err != nil {
		removeProfile(t, profile)
		t.Fatalf("browsertest: %v", err)
	}
	opts = append(opts, more...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: browserCtx, output: out}
	t.Cleanup(func() {
		// Cancelling the allocator kills Chromium and waits for it to exit,
		// so the profile can be removed afterwards.
		cancelBrowser()
		cancelAlloc()
		group.kill()
		if t.Failed() {
			t.Logf("browsertest: tail of Chromium's output:\n%s", out.String())
		}
		removeProfile(t, profile)
	})

	// The first Run launches the browser, and the browser lives as long as
	// that call's context, so it gets the long-lived context; the timer below
	// bounds it instead of a deadline.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browserCtx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("browsertest: starting %s%s: %v\n%s", ChromiumPath, o.where(), err, out.String())
		}
	case <-time.After(startTimeout):
		cancelBrowser()
		t.Fatalf("browsertest: %s%s did not start within %v\n%s", ChromiumPath, o.where(), startTimeout, out.String())
	}
	return b
}

// Open opens url in a new tab and waits for its load event. The tab lives
// until Page.Close or the end of the test.
func (b *Browser) Open(ctx context.Context, url string) (*Page, error) {
	return b.OpenWith(ctx, url, "")
}

// OpenWith is Open with a script that runs in the tab's every document
// before the page's own (CDP's addScriptToEvaluateOnNewDocument): to stand
// in for what the test machine lacks, such as a user who refuses the
// microphone.
func (b *Browser) OpenWith(ctx context.Context, url, initScript string) (*Page, error) {
	tabCtx, cancel := chromedp.NewContext(b.ctx)
	p := &Page{ctx: tabCtx, cancel: cancel, url: url}
	// The tab is created by its first Run, which must use the tab's own
	// context; if ctx ends first, closing the tab aborts that Run.
	stop := context.AfterFunc(ctx, cancel)
	err := chromedp.Do(tabCtx)
	stop()
	if err != nil {
		cancel()
		return nil, fmt.Errorf("browsertest: new tab: %w", errors.Join(err, ctx.Err()))
	}
	// Subscribe before navigating so no console line of the page is lost.
	go p.collectConsole(chromedp.Console(tabCtx))
	if initScript != "" {
		err := p.run(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: initScript})
			return err
		}))
		if err != nil {
			cancel()
			return nil, fmt.Errorf("browsertest: the tab's init script: %w", err)
		}
	}
	if err := p.run(ctx, chromedp.Navigate(url)); err != nil {
		cancel()
		return nil, fmt.Errorf("browsertest: open %s: %w", url, err)
	}
	return p, nil
}

// removeProfile deletes Chromium's profile. Helper processes (crashpad) can
// still write there for a moment after the browser exits, so it retries
// briefly; a leftover directory in /tmp is only logged.
func removeProfile(t testing.TB, dir string) {
	var err error
	for range 20 {
		if err = os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("browsertest: removing profile %s: %v", dir, err)
}

// tailBuffer keeps the last max bytes written to it: Chromium's output is
// only wanted for the end of a failed test, and must not grow without bound.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(bytes.TrimSpace(b.buf))
}
