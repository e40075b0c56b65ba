package browsertest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"github.com/chromedp/chromedp"
)

// Options are the ways a test's browser can differ from Start's. The zero
// value is Start's browser.
type Options struct {
	// Netns is the name of a network namespace (ip netns; netnstest.NS.Name)
	// to run Chromium in, so its traffic (pages, WebRTC) crosses the
	// namespace's link and suffers what the test does to it. Empty: the
	// host's network.
	//
	// The test keeps driving the browser as before: chromedp talks to
	// Chromium over two pipes (--remote-debugging-pipe, file descriptors 3
	// and 4), which ip netns exec passes on, not over a TCP port, so the
	// DevTools connection never touches a network, nor a loss rule.
	Netns string

	// InsecureOrigins are origins ("http://10.222.0.1:8080": scheme, host
	// and port) that Chromium treats as secure contexts. getUserMedia exists
	// only in a secure context, and a page served over plain HTTP is one
	// only on localhost; a page on a namespace link's address needs this.
	InsecureOrigins []string

	// FakeAudioFile is a WAV file the fake microphone plays, looped, in
	// place of Chromium's beep (--use-file-for-fake-audio-capture): to send
	// the same sound a synthetic device of the daemon does.
	FakeAudioFile string

	// FakeCameras is how many fake cameras Chromium lists (its
	// use-fake-device-for-media-stream device-count); 0 or 1: one.
	FakeCameras int

	// Lang is the browser's language ("zh-CN"): navigator.languages and
	// Accept-Language (--lang and --accept-lang). Empty: Chromium's own,
	// English here.
	Lang string
}

// allocatorOptions returns the allocator options o adds to Start's, and the
// process group Chromium runs in (nil: none of its own).
func (o Options) allocatorOptions() ([]chromedp.ExecAllocatorOption, *procGroup, error) {
	var opts []chromedp.ExecAllocatorOption
	if len(o.InsecureOrigins) > 0 {
		opts = append(opts, chromedp.Flag("unsafely-treat-insecure-origin-as-secure", strings.Join(o.InsecureOrigins, ",")))
	}
	if o.FakeAudioFile != "" {
		if _, err := os.Stat(o.FakeAudioFile); err != nil {
			return nil, nil, fmt.Errorf("fake audio file: %w", err)
		}
		opts = append(opts, chromedp.Flag("use-file-for-fake-audio-capture", o.FakeAudioFile))
	}
	if o.FakeCameras > 1 {
		opts = append(opts, chromedp.Flag("use-fake-device-for-media-stream", fmt.Sprintf("device-count=%d", o.FakeCameras)))
	}
	if o.Lang != "" {
		opts = append(opts, chromedp.Flag("lang", o.Lang), chromedp.Flag("accept-lang", o.Lang))
	}
	if o.Netns == "" {
		return opts, nil, nil
	}
	if _, err := os.Stat("/var/run/netns/" + o.Netns); err != nil {
		return nil, nil, fmt.Errorf("network namespace %q: %w", o.Netns, err)
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return nil, nil, fmt.Errorf("running Chromium in a namespace needs ip (Debian package iproute2): %w", err)
	}
	g := &procGroup{}
	opts = append(opts, chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
		// ip netns exec enters the namespace and execs Chromium in place:
		// the pid chromedp kills is Chromium's, and fds 3 and 4 (the
		// DevTools pipes) are inherited.
		cmd.Path = ip
		cmd.Args = append([]string{"ip", "netns", "exec", o.Netns}, cmd.Args...)
		// Its own process group, so the cleanup can kill what it forked
		// too; on Linux also chromedp's own default, Pdeathsig: Chromium
		// dies with the thread that started it, should the test binary die
		// (procattr_linux.go).
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		dieWithParent(cmd.SysProcAttr)
		g.cmd = cmd
	}))
	return opts, g, nil
}

// where names the namespace Chromium runs in, for error messages.
func (o Options) where() string {
	if o.Netns == "" {
		return ""
	}
	return " in network namespace " + o.Netns
}

// procGroup is the process group of a Chromium started by the allocator:
// its pgid is the pid of the process started (the Debian launcher script,
// which execs the browser).
type procGroup struct {
	cmd *exec.Cmd // set when the allocator builds the command
}

// kill kills every process left in the group: the zygote, renderers and
// utility processes that can outlive the browser for a moment after
// chromedp killed it, and write to its profile. Call it after the
// allocator is cancelled, when the browser itself has been waited for.
func (g *procGroup) kill() {
	if g == nil || g.cmd == nil || g.cmd.Process == nil {
		return
	}
	syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
}
