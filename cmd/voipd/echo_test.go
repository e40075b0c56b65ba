package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/audio/pulsetest"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/internal/testlock"
	"github.com/voipd/voipd/proto"
)

// echoRun is one echo set-up's figures: ERLE per 1 s window of what the
// far end received against the echo the panel's microphone heard.
type echoRun struct {
	name    string
	windows []float64 // dB, from the first second on; NaN where the echo was silent
	// devices is what the panel's status said of its devices at the end:
	// frames dropped, late callbacks, canceller restarts.
	devices string
	// disturbed says the panel's devices lost audio or ran late during the
	// measurement, or the machine's tasks waited for a CPU a share of it
	// over starvedShare (PulseAudio's own loopback, the echo path, then
	// runs late too, and no counter of voipd's sees it): its figures are
	// not the canceller's alone.
	disturbed bool
}

// starvedShare is the share of a measurement's time, by the kernel's CPU
// pressure (/proc/pressure/cpu, "some": at least one task waiting for a
// CPU), above which the machine counts as starved. Idle, this machine
// shows 0–2 %; with a second make test beside it, 20–35 %.
const starvedShare = 0.10

// cpuStall is the kernel's total time, in µs, that some task waited for a
// CPU (PSI), and whether the kernel says.
func cpuStall() (uint64, bool) {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return 0, false
	}
	return parseStall(string(b))
}

// parseStall reads the "some" line's total= from a /proc/pressure file.
func parseStall(s string) (uint64, bool) {
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "some ") {
			continue
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "total="); ok {
				n, err := strconv.ParseUint(v, 10, 64)
				return n, err == nil
			}
		}
	}
	return 0, false
}

func (r echoRun) first() float64 { return r.windows[0] }

// after returns the windows from second s on that carry echo.
func (r echoRun) after(s int) []float64 {
	var w []float64
	for _, v := range r.windows[s:] {
		if !math.IsNaN(v) {
			w = append(w, v)
		}
	}
	return w
}

func (r echoRun) median(s int) float64 {
	w := r.after(s)
	if len(w) == 0 {
		return math.NaN()
	}
	slices.Sort(w)
	return w[len(w)/2]
}

func (r echoRun) min(s int) float64 {
	if w := r.after(s); len(w) > 0 {
		return slices.Min(w)
	}
	return math.NaN()
}

// mean is the average over every window with echo, convergence included:
// the far end's experience of the whole call.
func (r echoRun) mean() float64 {
	w := r.after(0)
	sum := 0.0
	for _, v := range w {
		sum += v
	}
	return sum / float64(len(w))
}

// converging is the average over the windows with echo of the first
// convergeSeconds: while the cancellers converge (PulseAudio's reaches the
// cap after about 4 s here, voipd's after 1).
func (r echoRun) converging() float64 {
	sum, n := 0.0, 0
	for _, v := range r.windows[:min(convergeSeconds, len(r.windows))] {
		if !math.IsNaN(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

const convergeSeconds = 3

// echoSeconds is how long each set-up is measured.
const echoSeconds = 12

// erleCap bounds a window's ERLE: past it the far end heard next to
// nothing (a window of 1 LSB noise is 90 dB under full scale), and the
// figure would say more about rounding than about the canceller.
const erleCap = 60.0

// echoRoom is a panel on PulseAudio in pulsetest.EchoRoom, and a far end
// (a voipd node) whose microphone is the synthetic voice, on one room
// server; neither has joined yet.
type echoRoom struct {
	pulse  *pulsetest.Server
	proc   *proc
	panel  *ctl
	far    *node
	mic    string // the panel's microphone as the room hears it (before any canceller)
	secret string
}

// startEchoRoom starts an echoRoom. mode is measureEcho's; processing on
// or off follows it.
func startEchoRoom(t *testing.T, mode string) echoRoom {
	pulse := pulsetest.Start(t, 0)
	srv, secret := testRoomd(t, nil)
	playback, capture := pulse.EchoRoom(t)
	mic := capture
	processing := "true"
	switch mode {
	case "pulse":
		capture, playback = pulse.EchoCancel(t, playback, capture)
		processing = "false"
	case "none":
		processing = "false"
	}
	panel := startProc(t, fmt.Sprintf(`
[identity]
appId = %q
openid = "panel"
sessionKey = %q
[room]
url = %q
[audio]
backend = "pulse"
capture = %q
playback = %q
echoCancellation = %s
noiseSuppression = %s
autoGainControl = %s
[opus]
# Without DTX the residual is coded and sent as it is, rather than
# replaced by silence at the far end: the canceller is what is measured.
dtx = false
`, testApp, proto.SessionKey(secret, "panel"), wsURL(srv.URL()), capture, playback, processing, processing, processing), pulse.Env())
	far := startNodeWith(t, "far", wsURL(srv.URL()), secret, 1000, nil, func(n *node) {
		n.audio.voice, n.audio.keep = true, (echoSeconds+2)*hw.SampleRate
	})
	return echoRoom{pulse: pulse, proc: panel, panel: dialCtl(t, panel.socket), far: far, mic: mic,
		secret: secret}
}

// measureEcho runs a panel (voipd on PulseAudio: the speaker a null sink
// whose sound reaches the microphone 30 ms later, pulsetest.EchoRoom: a
// linear echo path) in a room with a far end that talks
// (the synthetic voice, which libopus codes as speech). It records what
// the monitor hears (the echo) and what the far end receives from the
// panel, for echoSeconds from the panel's join, and returns the ERLE of
// each 1 s window. mode: "voipd" (voipd's processing on, the defaults),
// "pulse" (voipd's processing off behind PulseAudio's module-echo-cancel,
// aec_method=webrtc), or "none" (no processing anywhere).
func measureEcho(t *testing.T, mode string) echoRun {
	r := startEchoRoom(t, mode)
	pulse, pc, far, mic, secret := r.pulse, r.panel, r.far, r.mic, r.secret
	panel := r.proc
	far.ctl.mustOK("joinVoIPChat", far.joinParams("echo"))
	echoFile := filepath.Join(t.TempDir(), "echo.raw")
	stop := pulse.Record(t, mic, echoFile)
	pc.mustOK("joinVoIPChat", (&node{openid: "panel", secret: secret}).joinParams("echo"))
	start := time.Now()
	stall0, psi := cpuStall()
	eventually(t, 15*time.Second, "the panel hears the far end", func() bool {
		for _, in := range pc.mustOK("getStats", nil)["inbound"].([]any) {
			if in.(map[string]any)["framesDecoded"].(float64) > 0 {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Until(start.Add(echoSeconds * time.Second)))
	st := pc.mustOK("status", nil)
	received := far.audio.rec.Snapshot(nil)
	stop()
	devices, disturbed := deviceTrouble(st)
	if stall1, ok := cpuStall(); ok && psi {
		share := float64(stall1-stall0) / float64(time.Since(start).Microseconds())
		devices += fmt.Sprintf("; CPU pressure %.0f %%", share*100)
		disturbed = disturbed || share > starvedShare
	}
	if mode == "voipd" {
		proc, _ := st["devices"].(map[string]any)["capture"].(map[string]any)["processing"].(map[string]any)
		if proc["echoCancellation"] != true || proc["noiseSuppression"] != true || proc["autoGainControl"] != true {
			t.Errorf("status.devices.capture.processing = %v: want every stage on", proc)
		}
		t.Logf("voipd's canceller says: %v", proc)
	}
	panel.term(10 * time.Second)
	echo := readRaw(t, echoFile)
	// The microphone delivers from when the room's sinks start playing
	// (an idle null sink is suspended): the echo's first sample is about
	// the first echo.
	// Both recordings end now; the received one is cut to the echo's span.
	secs := min(len(echo), len(received)) / hw.SampleRate
	if secs < echoSeconds-4 {
		t.Fatalf("recorded %d samples of echo and %d received: under %d s", len(echo), len(received), echoSeconds-4)
	}
	n := secs * hw.SampleRate
	echo, received = echo[len(echo)-n:], received[len(received)-n:]
	run := echoRun{name: mode, devices: devices, disturbed: disturbed}
	var loudest float64
	for s := 0; s < secs; s++ {
		loudest = max(loudest, energy(echo[s*hw.SampleRate:(s+1)*hw.SampleRate]))
	}
	for s := 0; s < secs; s++ {
		e := energy(echo[s*hw.SampleRate : (s+1)*hw.SampleRate])
		r := energy(received[s*hw.SampleRate : (s+1)*hw.SampleRate])
		if e < loudest/100 { // a pause in the far end's talk: no echo to cancel
			run.windows = append(run.windows, math.NaN())
			continue
		}
		run.windows = append(run.windows, min(10*math.Log10(e/max(r, 1)), erleCap))
	}
	return run
}

// deviceTrouble sums up what a status says of the panel's devices: frames
// dropped at the microphone or played as silence at the speaker, driver
// callbacks over a period late, and echo canceller restarts. disturbed is
// whether any of those happened, but for the speaker's first callback: it
// comes when PulseAudio resumes the suspended null sink, about 1.9 s late
// in every run here.
func deviceTrouble(st map[string]any) (summary string, disturbed bool) {
	devs, _ := st["devices"].(map[string]any)
	var parts []string
	for _, name := range []string{"capture", "playback"} {
		d, _ := devs[name].(map[string]any)
		dropped, _ := d["dropped"].(float64)
		cb, _ := d["callbacks"].(map[string]any)
		late, _ := cb["late"].(float64)
		worst, _ := cb["worstLateMs"].(float64)
		parts = append(parts, fmt.Sprintf("%s %.0f dropped, %.0f late callbacks (worst %.0f ms)", name, dropped, late, worst))
		expected := 0.0
		if name == "playback" {
			expected = 1
		}
		disturbed = disturbed || dropped > 0 || late > expected
	}
	capture, _ := devs["capture"].(map[string]any)
	if p, ok := capture["processing"].(map[string]any); ok {
		resets, _ := p["resets"].(float64)
		parts = append(parts, fmt.Sprintf("%.0f canceller restarts", resets))
		disturbed = disturbed || resets > 0
	}
	return strings.Join(parts, ", "), disturbed
}

func energy(pcm []int16) float64 {
	e := 0.0
	for _, s := range pcm {
		e += float64(s) * float64(s)
	}
	return e
}

// TestEchoCancellationOverPulse (issue 15): the far end's voice comes back
// to it through the panel's speaker and microphone (PulseAudio: a null
// sink and its monitor). Measured on what the far end receives, against
// the echo the microphone heard, in 1 s windows: voipd's processing, then
// PulseAudio's own module-echo-cancel (aec_method=webrtc: the anchor a
// vendor would otherwise reach for) in front of a voipd with its
// processing off, then no processing at all (the measurement measures).
func TestEchoCancellationOverPulse(t *testing.T) {
	testlock.Heavy(t) // not beside the ARM emulation: the figures need the audio on time
	var runs []echoRun
	var problems []string
	// Registered first, so run last: after the set-ups' cleanups have
	// logged their daemons' shutdown, the test's last lines say why it
	// failed (CI keeps only the tail of a failing test's output).
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("verdict: %s", verdict(runs, problems))
		}
	})
	for _, mode := range []string{"voipd", "pulse", "none"} {
		runs = append(runs, measureEcho(t, mode))
	}
	problems = judgeEcho(runs)
	// The figures are the canceller's only while the audio ran on time. A
	// machine starved of CPU (another heavy job beside the suite) can make
	// the panel's devices drop frames or run late, and an echo path that
	// jumps is reconverged, not cancelled: where a bar was missed and the
	// panel's status counted such trouble in that run, or the kernel's CPU
	// pressure says the machine was starved meanwhile (echoRun.disturbed),
	// the set-ups are measured once more, and that second measurement is
	// judged.
	if len(problems) > 0 && slices.ContainsFunc(runs, func(r echoRun) bool { return r.disturbed }) {
		logEcho(t, runs)
		t.Logf("missed %q with the panel's devices disturbed: measuring again", problems)
		runs = runs[:0]
		for _, mode := range []string{"voipd", "pulse", "none"} {
			runs = append(runs, measureEcho(t, mode))
		}
		problems = judgeEcho(runs)
	}
	logEcho(t, runs)
	for _, r := range runs { // for scripts/bench.sh's table
		t.Logf("echo-row %s %.1f %.1f %.1f %.1f", r.name, r.first(), r.median(3), r.min(3), r.mean())
	}
	voipd, pulse := runs[0], runs[1]
	t.Logf("voipd − PulseAudio's module-echo-cancel: mean %+.1f dB, first %d s %+.1f, first second %+.1f, lowest after 3 s %+.1f",
		voipd.mean()-pulse.mean(), convergeSeconds, voipd.converging()-pulse.converging(), voipd.first()-pulse.first(), voipd.min(3)-pulse.min(3))
	for _, p := range problems {
		t.Error(p)
	}
}

// verdict sums up in one line the bars missed and each set-up's figures
// and device trouble: or, where a set-up stopped the test before judging,
// how far it got.
func verdict(runs []echoRun, problems []string) string {
	var b strings.Builder
	if len(problems) == 0 {
		fmt.Fprintf(&b, "no bar judged missed: the error above (after %d of 3 set-ups)", len(runs))
	} else {
		fmt.Fprintf(&b, "missed %s", strings.Join(problems, "; "))
	}
	for _, r := range runs {
		fmt.Fprintf(&b, " | %s: first %.1f dB, median %.1f, lowest %.1f; %s", r.name, r.first(), r.median(3), r.min(3), r.devices)
	}
	return b.String()
}

// logEcho logs each set-up's figures and what the panel's status said of
// its devices.
func logEcho(t *testing.T, runs []echoRun) {
	t.Helper()
	var b strings.Builder
	for _, r := range runs {
		fmt.Fprintf(&b, "\n  %-6s first second %5.1f dB, after 3 s median %5.1f, lowest %5.1f; mean %5.1f; windows %.1f\n         devices: %s",
			r.name, r.first(), r.median(3), r.min(3), r.mean(), r.windows, r.devices)
	}
	t.Logf("ERLE of what the far end received:%s", b.String())
}

// judgeEcho returns the bars that runs (voipd, pulse, none) missed, each
// with its figures.
func judgeEcho(runs []echoRun) []string {
	voipd, pulse, none := runs[0], runs[1], runs[2]
	var p []string
	if m := none.median(3); m > 6 {
		p = append(p, fmt.Sprintf("without processing the far end got its echo %.1f dB down: the set-up is not a loop", m))
	}
	if m := voipd.median(3); m < 30 {
		p = append(p, fmt.Sprintf("voipd's median ERLE after 3 s is %.1f dB, want ≥ 30", m))
	}
	if lo := voipd.min(3); lo < 20 {
		p = append(p, fmt.Sprintf("voipd's lowest 1 s window after 3 s is %.1f dB, want ≥ 20", lo))
	}
	if voipd.first() < 10 {
		p = append(p, fmt.Sprintf("voipd's first second is %.1f dB, want ≥ 10", voipd.first()))
	}
	// The anchor: at least 10 dB better while the cancellers converge (the
	// first 3 s), where the far end hears echo at all. Not the first second
	// alone: where the first echo falls in it moves both cancellers' figure
	// for it together (PulseAudio's from -2.7 to 22.3 dB over 9 runs here,
	// the difference from 11.8 to 32.9 dB; over 3 s, 17.6 to 25.7). After
	// that both often reach the cap, and PulseAudio's lowest window varies
	// from run to run (16–55 dB here): it is logged, not judged.
	if d := voipd.converging() - pulse.converging(); !(d >= 10) {
		p = append(p, fmt.Sprintf("voipd's first %d s average %+.1f dB against PulseAudio's module-echo-cancel (%.1f against %.1f), want ≥ +10",
			convergeSeconds, d, voipd.converging(), pulse.converging()))
	}
	return p
}

// nearLevels has a visitor talk in front of the panel (12 s of the
// synthetic voice from 2.5 s in, so not the far end's syllable of the
// moment, played into the air the microphone hears) with the far end
// talking too (double talk) or muted, after the panel has been in the room
// 3 s. It returns, for each second of the talk but the first and the last,
// the level (dBFS) the microphone heard and the level the far end
// received, both recordings ending together.
func nearLevels(t *testing.T, farTalks bool) (mic, got []float64) {
	r := startEchoRoom(t, "voipd")
	wav := filepath.Join(t.TempDir(), "near.wav")
	talk := synth.VoiceSamples(12*hw.SampleRate + 5*hw.SampleRate/2)[5*hw.SampleRate/2:]
	if err := synth.WriteWAV(wav, talk); err != nil {
		t.Fatal(err)
	}
	r.far.ctl.mustOK("joinVoIPChat", r.far.joinParams("near"))
	if !farTalks {
		r.far.ctl.mustOK("updateVoIPChatMuteConfig", map[string]any{"muteConfig": map[string]any{"muteMicrophone": true, "muteEarphone": false}})
	}
	r.panel.mustOK("joinVoIPChat", (&node{openid: "panel", secret: r.secret}).joinParams("near"))
	time.Sleep(3 * time.Second)
	micFile := filepath.Join(t.TempDir(), "mic.raw")
	stop := r.pulse.Record(t, r.mic, micFile)
	r.pulse.Play(t, strings.TrimSuffix(r.mic, ".monitor"), wav)
	time.Sleep(500 * time.Millisecond) // what was said last reaches the far end
	received := r.far.audio.rec.Snapshot(nil)
	stop()
	r.proc.term(10 * time.Second)
	defer func() {
		if t.Failed() {
			t.Logf("the panel's log:\n%s", r.proc.out.String())
		}
	}()
	heard := readRaw(t, micFile)
	n := min(len(heard), len(received), len(talk)) / hw.SampleRate * hw.SampleRate
	heard, received = heard[len(heard)-n:], received[len(received)-n:]
	// What the far end received comes later than the microphone heard it
	// (the network, the jitter buffer, the devices' queues): find that lag
	// from the two 10 ms energy envelopes, and compare like with like.
	lag := envelopeLag(heard, received, hw.SampleRate)
	t.Logf("the far end received the microphone %v later", time.Duration(lag)*time.Second/hw.SampleRate)
	heard, received = heard[:n-lag], received[lag:]
	n -= lag
	lv := func(p []int16) float64 { return 10 * math.Log10(energy(p)/float64(len(p))/(32768*32768)+1e-12) }
	for s := hw.SampleRate; s+2*hw.SampleRate <= n; s += hw.SampleRate {
		mic = append(mic, lv(heard[s:s+hw.SampleRate]))
		got = append(got, lv(received[s:s+hw.SampleRate]))
	}
	return mic, got
}

// envelopeLag returns the lag (samples, a multiple of 10 ms, up to max)
// by which b's 10 ms energy envelope best follows a's.
func envelopeLag(a, b []int16, max int) int {
	const step = hw.SampleRate / 100
	env := func(p []int16) []float64 {
		e := make([]float64, len(p)/step)
		for i := range e {
			e[i] = math.Log10(energy(p[i*step:(i+1)*step]) + 1)
		}
		return e
	}
	ea, eb := env(a), env(b)
	best, bestLag := math.Inf(-1), 0
	for lag := 0; lag*step <= max && lag < len(eb); lag++ {
		c := 0.0
		for i := 0; i+lag < len(eb) && i < len(ea); i++ {
			c += ea[i] * eb[i+lag]
		}
		if c > best {
			best, bestLag = c, lag
		}
	}
	return bestLag * step
}

func readRaw(t *testing.T, path string) []int16 {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, len(raw)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
	}
	return pcm
}

// TestNearEndOverPulse (issue 15): on the PulseAudio echo room, a visitor
// talking in front of the panel reaches the far end within ±2 dB of the
// level its microphone heard when the far end is silent (voipd's defaults,
// gain control included; the median second), and stays audible in double
// talk, with the far end's echo as loud as the visitor at the microphone:
// the canceller suppresses it there (logged, second by second: about
// 10–17 dB here), but never to under 25 dB below the talk alone.
func TestNearEndOverPulse(t *testing.T) {
	testlock.Heavy(t)
	micAlone, gotAlone := nearLevels(t, false)
	_, gotDouble := nearLevels(t, true)
	n := min(len(gotAlone), len(gotDouble))
	var alone, double []float64
	for i := range n {
		alone = append(alone, gotAlone[i]-micAlone[i])
		double = append(double, gotDouble[i]-gotAlone[i])
	}
	ma, md := medianOf(alone), medianOf(double)
	t.Logf("near end alone, far end against microphone, per second: %.1f dB (median %+.1f)", alone, ma)
	t.Logf("double talk against alone, per second: %.1f dB (median %+.1f)", double, md)
	t.Logf("near-row %.1f %.1f", ma, md) // for scripts/bench.sh's table
	if math.Abs(ma) > 2 {
		t.Errorf("the near end alone reached the far end at %+.1f dB of its level at the microphone, want within ±2", ma)
	}
	if md < -25 {
		t.Errorf("in double talk the near end lost %.1f dB: not audible", -md)
	}
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestDeviceTrouble: the echo measurement's re-measure rule counts dropped
// frames, late callbacks beyond the resumed sink's first, and canceller
// restarts, and nothing else.
func TestDeviceTrouble(t *testing.T) {
	status := func(capLate, playLate, dropped, resets float64) map[string]any {
		return map[string]any{"devices": map[string]any{
			"capture": map[string]any{"dropped": dropped, "callbacks": map[string]any{"late": capLate, "worstLateMs": 30.0},
				"processing": map[string]any{"resets": resets}},
			"playback": map[string]any{"dropped": 0.0, "callbacks": map[string]any{"late": playLate, "worstLateMs": 1900.0}},
		}}
	}
	for _, c := range []struct {
		st   map[string]any
		want bool
	}{
		{status(0, 1, 0, 0), false}, // the sink resumed: every run
		{status(0, 0, 0, 0), false},
		{status(1, 1, 0, 0), true},
		{status(0, 2, 0, 0), true},
		{status(0, 1, 3, 0), true},
		{status(0, 1, 0, 1), true},
		{map[string]any{}, false}, // no devices: nothing counted
	} {
		summary, got := deviceTrouble(c.st)
		if got != c.want {
			t.Errorf("deviceTrouble(%v) = %v (%s), want %v", c.st, got, summary, c.want)
		}
	}
	if s, _ := deviceTrouble(status(1, 2, 3, 4)); s != "capture 3 dropped, 1 late callbacks (worst 30 ms), playback 0 dropped, 2 late callbacks (worst 1900 ms), 4 canceller restarts" {
		t.Errorf("summary %q", s)
	}
	// The CPU pressure a measurement reads (PSI's format; "full" is not it).
	if n, ok := parseStall("some avg10=33.52 avg60=19.83 avg300=21.69 total=2229520729\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"); !ok || n != 2229520729 {
		t.Errorf("parseStall: %d, %v", n, ok)
	}
	if _, ok := parseStall("full avg10=0.00 total=7\n"); ok {
		t.Error("parseStall read a total without a some line")
	}
}
