package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
)

const testApp = "wx20afc706a711eefc"

// testRoomd starts a roomd on 127.0.0.1:0 for a test.
func testRoomd(t testing.TB, mut func(*roomd.Config)) (*roomd.Server, string) {
	t.Helper()
	secret := randomHex(16)
	cfg := roomd.Config{Listen: "127.0.0.1:0", Apps: []roomd.App{{ID: testApp, Secret: secret}}, Dev: true, Logger: quietLogger(t)}
	if mut != nil {
		mut(&cfg)
	}
	srv, err := roomd.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, secret
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func quietLogger(t testing.TB) *slog.Logger {
	if os.Getenv("VOIPD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.NewTextHandler(testLogTail(t), nil))
}

// tailLines is how many lines of a test's in-process daemons' and roomd's
// logs (info and above) are kept to show when it fails.
const tailLines = 400

// logTail keeps the last tailLines lines written to it.
type logTail struct {
	mu    sync.Mutex
	lines []string
	next  int
}

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) < tailLines {
		l.lines = append(l.lines, string(p))
	} else {
		l.lines[l.next] = string(p)
		l.next = (l.next + 1) % tailLines
	}
	return len(p), nil
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for i := range l.lines {
		b.WriteString(l.lines[(l.next+i)%len(l.lines)])
	}
	return b.String()
}

// logTails are the tests' log tails, one per test, shared by every logger
// quietLogger gives it.
var logTails sync.Map // testing.TB → *logTail

// testLogTail is t's log tail, shown with the test's failure: a daemon's
// reconnect or warning then explains what the test saw.
func testLogTail(t testing.TB) io.Writer {
	l, loaded := logTails.LoadOrStore(t, &logTail{})
	if !loaded {
		t.Cleanup(func() {
			logTails.Delete(t)
			if s := l.(*logTail).String(); t.Failed() && s != "" {
				t.Logf("in-process daemons' and roomd's log (last %d lines, info and above):\n%s", tailLines, s)
			}
		})
	}
	return l.(*logTail)
}

// shortDir is a temp dir with a short path: a unix socket path must fit in
// 108 bytes, and t.TempDir() paths grow with the test's name.
func shortDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "vd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// testAudio is an hw.AudioSystem of synthetic devices: a tone as the
// microphone and a recorder as the speaker, so a test hears what the daemon
// played.
type testAudio struct {
	freq   float64
	voice  bool // the microphone is the synthetic voice, not a tone of freq
	mu     sync.Mutex
	rec    *synth.Recorder
	busy   error // returned by OpenCapture when set
	opened int   // captures opened: a refused client must open none
	keep   int   // samples the speaker keeps; 0: the last 500 ms
}

// setBusy makes OpenCapture fail with err from now on (nil: open again).
func (a *testAudio) setBusy(err error) {
	a.mu.Lock()
	a.busy = err
	a.mu.Unlock()
}

func (a *testAudio) OpenCapture(id string) (hw.Capture, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.busy != nil {
		return nil, a.busy
	}
	a.opened++
	if a.voice {
		return synth.NewVoice(), nil
	}
	return synth.NewTone(a.freq, 0.3), nil
}

func (a *testAudio) OpenPlayback(id string) (hw.Playback, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rec = synth.NewRecorder(cmp.Or(a.keep, hw.SampleRate/2)) // by default the last 500 ms
	return a.rec, nil
}

func (a *testAudio) Devices() ([]hw.DeviceInfo, []hw.DeviceInfo, error) {
	return []hw.DeviceInfo{{ID: fmt.Sprintf("tone:%g", a.freq), Name: "test tone", Backend: "synth", Synthetic: true, Default: true}},
		[]hw.DeviceInfo{{ID: "recorder", Name: "test recorder", Backend: "synth", Synthetic: true, Default: true}}, nil
}

// heard returns the power ratio of freq to other in the last 500 ms played.
func (a *testAudio) heard(freq, other float64) float64 {
	a.mu.Lock()
	rec := a.rec
	a.mu.Unlock()
	if rec == nil {
		return 0
	}
	pcm := rec.Snapshot(nil)
	p1 := dsp.Goertzel(pcm, freq, hw.SampleRate)
	p2 := dsp.Goertzel(pcm, other, hw.SampleRate)
	return p1 / (p2 + 1e-9)
}

// testCameras is an hw.CameraSystem of pattern cameras named after the
// node, which a test can make busy or unplug (what V4L2 says then is typed
// by hw/camera; here the kinds come straight from hw).
type testCameras struct {
	name string
	mu   sync.Mutex
	busy bool
	gone bool
	none bool // a device without any camera
	deny bool // EACCES on open
	open *unpluggable
}

func (c *testCameras) Cameras() ([]hw.CameraInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.none {
		return nil, nil
	}
	return []hw.CameraInfo{{ID: "pattern:" + c.name, Name: "test pattern", Synthetic: true,
		Formats: []hw.VideoFormat{{Format: hw.FormatI420, Width: 640, Height: 480, FPS: []int{30}}}}}, nil
}

func (c *testCameras) OpenCamera(id string, req hw.CameraRequest) (hw.Camera, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.busy:
		return nil, &hw.DeviceError{Op: "open camera", Device: id, Kind: hw.ErrBusy}
	case c.gone, c.none:
		return nil, &hw.DeviceError{Op: "open camera", Device: id, Kind: hw.ErrAbsent}
	case c.deny:
		return nil, &hw.DeviceError{Op: "open camera", Device: id, Kind: hw.ErrPermission, Err: syscall.EACCES}
	}
	name := c.name
	if id == "back" {
		name += "-back" // the back camera shows another pattern (switchCamera)
	}
	c.open = &unpluggable{Camera: synth.NewPatternCamera(name, req), sys: c}
	return c.open, nil
}

// unplug makes the open camera fail as a vanished device does, and keeps
// new opens failing until replug.
func (c *testCameras) unplug(gone bool) {
	c.mu.Lock()
	c.gone = gone
	c.mu.Unlock()
}

type unpluggable struct {
	hw.Camera
	sys *testCameras
}

func (u *unpluggable) ReadFrame() (hw.VideoFrame, error) {
	u.sys.mu.Lock()
	gone := u.sys.gone
	u.sys.mu.Unlock()
	if gone {
		return hw.VideoFrame{}, &hw.DeviceError{Op: "read frame", Device: "pattern", Kind: hw.ErrAbsent, Err: syscall.ENODEV}
	}
	return u.Camera.ReadFrame()
}

// frames records, per member, the frame numbers and pattern ids read back
// from the pictures the daemon decoded.
type frames struct {
	mu   sync.Mutex
	seen map[string][]uint32
	ids  map[string]uint8
	at   map[string]time.Time
}

func (f *frames) onFrame(member string, img yuv.I420) {
	n, ok := synth.ReadFrameNumber(img.Y, img.YStride, img.Width, img.Height)
	id, ok2 := synth.PatternID(img.Y, img.YStride, img.Width, img.Height)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen, f.ids, f.at = map[string][]uint32{}, map[string]uint8{}, map[string]time.Time{}
	}
	if ok && ok2 {
		f.seen[member] = append(f.seen[member], n)
		f.ids[member] = id
		f.at[member] = time.Now()
	}
}

func (f *frames) of(member string) ([]uint32, uint8, time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint32(nil), f.seen[member]...), f.ids[member], f.at[member]
}

// node is one in-process voipd.
type node struct {
	openid string
	secret string
	audio  *testAudio
	cams   *testCameras
	frames *frames
	media  media.Factory // a test's override of the media pipelines
	in     *instance
	ctl    *ctl
	cfg    *config.Config
	stop   func()
	done   chan error
}

// startNode runs voipd in this process against roomURL.
func startNode(t testing.TB, openid, roomURL, secret string, freq float64, mut func(*config.Config)) *node {
	t.Helper()
	return startNodeWith(t, openid, roomURL, secret, freq, mut, nil)
}

// startNodeWith is startNode with prep run on the node before it starts
// (to swap its devices or media).
func startNodeWith(t testing.TB, openid, roomURL, secret string, freq float64, mut func(*config.Config), prep func(*node)) *node {
	t.Helper()
	cfg := config.Default()
	cfg.Identity.AppID = testApp
	cfg.Identity.OpenID = openid
	cfg.Identity.SessionKey = proto.SessionKey(secret, openid)
	cfg.Room.URL = roomURL
	cfg.Room.JoinTimeout = config.Duration(8 * time.Second)
	cfg.Control.Socket = filepath.Join(shortDir(t), "c.sock")
	cfg.Audio.Capture = fmt.Sprintf("tone:%g", freq)
	cfg.Audio.Playback = "recorder"
	cfg.Display.Listen = "" // tests that want the local display turn it on
	// Small frames keep several encoders cheap on 2 cores.
	cfg.Video.Width, cfg.Video.Height, cfg.Video.Bitrate = 320, 240, 300000
	if mut != nil {
		mut(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n := &node{openid: openid, secret: secret, audio: &testAudio{freq: freq}, cams: &testCameras{name: "cam-" + openid}, frames: &frames{}, cfg: cfg, done: make(chan error, 1)}
	if prep != nil {
		prep(n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *instance, 1)
	go func() {
		n.done <- runWithLogger(ctx, cfg, options{audio: n.audio, cameras: n.cams, onFrame: n.frames.onFrame, media: n.media, started: func(in *instance) { started <- in }}, quietLogger(t).With("node", openid))
	}()
	select {
	case n.in = <-started:
	case err := <-n.done:
		cancel()
		t.Fatalf("voipd %s did not start: %v", openid, err)
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatalf("voipd %s did not start in time", openid)
	}
	n.stop = func() {
		cancel()
		select {
		case <-n.done:
		case <-time.After(15 * time.Second):
			t.Errorf("voipd %s did not stop in time", openid)
		}
	}
	t.Cleanup(n.stop)
	n.ctl = dialCtl(t, cfg.Control.Socket)
	return n
}

// joinParams signs a join of group g with the node's session key.
func (n *node) joinParams(g string) map[string]any {
	nonce := randomHex(8)
	ts := time.Now().Unix()
	return map[string]any{
		"groupId": g, "nonceStr": nonce, "timeStamp": ts,
		"signature": proto.Signature(testApp, g, nonce, ts, proto.SessionKey(n.secret, n.openid)),
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// identityConfig is a config file's [identity] and [room] for a daemon of
// the test app that joins as openid at url, its session key derived from
// the app secret; the test's own sections follow it.
func identityConfig(openid, secret, url string) string {
	return fmt.Sprintf(`
[identity]
appId = %q
openid = %q
sessionKey = %q
[room]
url = %q
`, testApp, openid, proto.SessionKey(secret, openid), url)
}
