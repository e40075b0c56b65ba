package pipeline

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/media/settings"
)

// echoLoop is a speaker and a microphone in one room: the microphone hears
// what the speaker played delay later, at half its level (a linear echo
// path). Both are real devices to the pipeline (not synthetic). The
// speaker is paced by a ticker, like a device clock; the microphone by
// what the speaker has played.
type echoLoop struct {
	tick  *time.Ticker
	done  chan struct{} // closed by close
	delay int           // samples

	mu     sync.Mutex
	cond   *sync.Cond
	played []int16
	read   int     // samples captured so far
	echoE  float64 // the echo's energy in what was captured
	near   []int16 // a near-end talker the microphone hears too, from the start
	marks  []float64
	closed bool
}

func newEchoLoop(frameMs int, delay time.Duration) *echoLoop {
	l := &echoLoop{tick: time.NewTicker(time.Duration(frameMs) * time.Millisecond), done: make(chan struct{}),
		delay: int(delay.Seconds() * hw.SampleRate)}
	l.cond = sync.NewCond(&l.mu)
	return l
}

func (l *echoLoop) close() {
	l.tick.Stop()
	close(l.done)
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
}

// echoEnergy is the energy of the echo captured so far.
func (l *echoLoop) echoEnergy() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.echoE
}

type loopSpeaker struct{ l *echoLoop }

func (s loopSpeaker) Write(frame []int16) error {
	select {
	case <-s.l.tick.C:
	case <-s.l.done:
	}
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if s.l.closed {
		return &hw.DeviceError{Op: "write", Device: "loop", Kind: hw.ErrClosed}
	}
	s.l.played = append(s.l.played, frame...)
	s.l.cond.Broadcast()
	return nil
}
func (s loopSpeaker) Info() hw.DeviceInfo    { return hw.DeviceInfo{ID: "loop-speaker", Backend: "test"} }
func (s loopSpeaker) Close() error           { return nil }
func (s loopSpeaker) Latency() time.Duration { return hw.FrameMillis * time.Millisecond }
func (s loopSpeaker) Dropped() uint64        { return 0 }
func (m loopMic) Info() hw.DeviceInfo        { return hw.DeviceInfo{ID: "loop-microphone", Backend: "test"} }
func (m loopMic) Close() error               { return nil }
func (m loopMic) Latency() time.Duration     { return 0 }
func (l *echoLoop) microphone() hw.Capture   { return loopMic{l} }
func (l *echoLoop) speaker() hw.Playback     { return loopSpeaker{l} }

type loopMic struct{ l *echoLoop }

func (m loopMic) Read(frame []int16) error {
	l := m.l
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.played) < l.read+len(frame)-l.delay && !l.closed {
		l.cond.Wait()
	}
	if l.closed {
		return &hw.DeviceError{Op: "read", Device: "loop", Kind: hw.ErrClosed}
	}
	for i := range frame {
		v := 0.0
		if j := l.read + i - l.delay; j >= 0 {
			v = 0.5 * float64(l.played[j])
		}
		l.echoE += v * v
		if j := l.read + i; j < len(l.near) {
			v += float64(l.near[j])
		}
		frame[i] = int16(max(min(v, 32767), -32768))
	}
	l.read += len(frame)
	return nil
}

// TestEchoCancelledInTheCall: a far end talks (the synthetic voice) to a
// call whose speaker its microphone hears 60 ms later. What the far end
// receives back is the echo of its own voice: with the default processing
// on it is at least 15 dB under that echo after a 3 s warm-up, through
// Opus (with DTX and its comfort noise) and the jitter buffer both ways
// (21–49 dB over runs here: the goroutines' interleaving moves the
// canceller's alignment; codec/apm measures the canceller itself, on a
// fixed interleaving); with the processing off it is within 10 dB (the
// measurement measures). The call's stats show the processing and the
// canceller's estimates.
func TestEchoCancelledInTheCall(t *testing.T) {
	for _, c := range []struct {
		name    string
		on      bool
		frameMs int
		minDB   float64 // the least echo loss wanted
		maxDB   float64 // and the most
	}{
		{"processing on", true, 20, 15, math.Inf(1)},
		{"processing on, 10 ms frames", true, 10, 15, math.Inf(1)},
		{"processing off", false, 20, math.Inf(-1), 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := testAudio(func(a *settings.Audio) {
				a.EchoCancellation, a.NoiseSuppression, a.AutoGainControl = c.on, c.on, c.on
				a.FrameMs = c.frameMs
			})
			loss := echoLoss(t, cfg, func(cs media.CallStats) {
				if !c.on {
					if cs.Processing != nil {
						t.Errorf("processing off, yet stats show %+v", cs.Processing)
					}
					return
				}
				p := cs.Processing
				t.Logf("processing stats: %+v", p)
				// (The delay the canceller finds is logged, not checked: its
				// estimate comes once it is sure, which a loaded machine may
				// delay past the run.)
				if p == nil || !p.EchoCancellation || !p.NoiseSuppression || !p.AutoGainControl || p.ReportedDelayMs <= 0 {
					t.Errorf("processing stats %+v: want every stage and a reported delay", p)
				}
			})
			t.Logf("%s: what the far end got back is %.1f dB under the echo its voice made", c.name, loss)
			if loss < c.minDB || loss > c.maxDB {
				t.Errorf("echo loss %.1f dB, want between %v and %v", loss, c.minDB, c.maxDB)
			}
		})
	}
}

// echoLoss runs the far end against a call with cfg over an echoLoop
// and returns how far under the echo (dB) what the far end received was,
// over the last 3 of 6 s; check sees the call's stats at the end.
func echoLoss(t *testing.T, cfg settings.Audio, check func(media.CallStats)) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	loop := newEchoLoop(cfg.FrameMs, 60*time.Millisecond)
	toFar, fromFar := newRTPPipe(1, 0, 0), newRTPPipe(2, 0, 0)
	defer toFar.Close()
	defer fromFar.Close()
	call, err := NewFactory(cfg, settings.Video{}, nil, nil).NewCall(media.CallParams{
		Capture: loop.microphone(), Playback: loop.speaker(), Out: toFar, LevelExtID: levelExt})
	if err != nil {
		t.Fatal(err)
	}
	call.AddMember("far", fromFar)
	farSnd, err := NewAudioSender(synth.NewVoice(), fromFar, cfg, levelExt, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	farPlay := newRecordPlaybackMs(cfg.FrameMs)
	farRcv := NewAudioReceiver(farPlay, cfg, levelExt, nil, nil)
	farRcv.AddMember("near", toFar)
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{call.Run, farSnd.Run, farRcv.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
	}
	frames := 1000 / cfg.FrameMs
	waitPlayed := func(n int) {
		for farPlay.count() < n && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitPlayed(3 * frames)
	e0, n0 := loop.echoEnergy(), farPlay.count()
	waitPlayed(n0 + 3*frames)
	e1, n1 := loop.echoEnergy(), farPlay.count()
	got := 0.0
	for _, s := range farPlay.last(n1 - n0) {
		got += float64(s) * float64(s)
	}
	check(call.Stats())
	cancel()
	loop.close()
	wg.Wait()
	farPlay.Close()
	return 10 * math.Log10(max(e1-e0, 1)/max(got, 1))
}

// The processing's per-frame work — render the mix, note the speaker's
// queue, watch for underruns, process the captured frame with its delay —
// allocates nothing.
func TestProcessingAllocs(t *testing.T) {
	x := newProcessing(apmConfig(testAudio(), echoLoopMic()), slog.Default())
	if x == nil {
		t.Fatal("no processing for a real microphone with the defaults")
	}
	defer x.close()
	l := newEchoLoop(hw.FrameMillis, 60*time.Millisecond)
	defer l.close()
	spk, mic := l.speaker(), l.microphone()
	x.playingOn(spk)
	frame := make([]int16, hw.FrameSamples)
	var u underruns
	if n := testing.AllocsPerRun(200, func() {
		x.render(frame)
		u.burst(spk, time.Now())
		x.capture(frame, mic)
	}); n != 0 {
		t.Fatalf("%v allocations per frame, want 0", n)
	}
	if x.stats().ReportedDelayMs != hw.FrameMillis {
		t.Errorf("reported delay %v ms, want the speaker's %d ms queue", x.stats().ReportedDelayMs, hw.FrameMillis)
	}
}

// A synthetic source gets no processing, whatever the settings; a real
// one gets the stages asked for, with the high-pass filter when any runs.
func TestProcessingOnlyForRealMicrophones(t *testing.T) {
	if c := apmConfig(testAudio(), newToneCapture(440, false)); c.Any() {
		t.Errorf("a synthetic tone gets %+v", c)
	}
	if c := apmConfig(testAudio(), echoLoopMic()); !c.EchoCancellation || !c.NoiseSuppression || !c.AutoGainControl || !c.HighPassFilter {
		t.Errorf("a real microphone with the defaults gets %+v", c)
	}
	off := testAudio(func(a *settings.Audio) {
		a.EchoCancellation, a.NoiseSuppression, a.AutoGainControl = false, false, false
	})
	if c := apmConfig(off, echoLoopMic()); c.Any() {
		t.Errorf("every stage off, yet %+v", c)
	}
}

// underruns.burst: five underruns within a second are a burst; fewer, or
// spread over longer, are not.
func TestUnderrunBurst(t *testing.T) {
	d := &dropCounting{}
	var u underruns
	now := time.Now()
	if u.burst(d, now) {
		t.Fatal("a burst at the first look")
	}
	d.n = 4
	if u.burst(d, now.Add(500*time.Millisecond)) {
		t.Fatal("4 underruns made a burst")
	}
	d.n = 5
	if !u.burst(d, now.Add(900*time.Millisecond)) {
		t.Fatal("5 underruns within a second made no burst")
	}
	d.n = 8
	if u.burst(d, now.Add(2500*time.Millisecond)) { // a new window began at the burst
		t.Fatal("3 more underruns made a burst")
	}
	d.n = 12
	if u.burst(d, now.Add(4*time.Second)) {
		t.Fatal("4 underruns in a fresh window made a burst")
	}
}

// Bursts reset the canceller at most every burstResetGap; a reopened
// device always does.
func TestBurstResetsSpaced(t *testing.T) {
	x := newProcessing(apmConfig(testAudio(), echoLoopMic()), slog.Default())
	defer x.close()
	now := time.Now()
	x.resetAt("burst", now, false)
	x.resetAt("burst", now.Add(time.Second), false)
	x.resetAt("burst", now.Add(burstResetGap-time.Millisecond), false)
	if n := x.resets.Load(); n != 1 {
		t.Fatalf("%d resets from three bursts within the gap, want 1", n)
	}
	x.resetAt("reopened", now.Add(2*time.Second), true)
	x.resetAt("burst", now.Add(2*time.Second+burstResetGap), false)
	if n := x.resets.Load(); n != 3 {
		t.Fatalf("%d resets, want 3 (a reopen always, a burst after the gap)", n)
	}
}

type dropCounting struct{ n uint64 }

func (d *dropCounting) Write([]int16) error { return nil }
func (d *dropCounting) Info() hw.DeviceInfo { return hw.DeviceInfo{ID: "drops"} }
func (d *dropCounting) Close() error        { return nil }
func (d *dropCounting) Dropped() uint64     { return d.n }

func echoLoopMic() hw.Capture { return loopMic{newEchoLoop(hw.FrameMillis, 0)} }

// TestNearEndInTheCall: a near-end talker (the synthetic voice from 2.5 s
// in, so not the far end's syllable of the moment) starts 3 s into the
// call, every stage on. With the far end silent it reaches the far end
// within ±2 dB of its level at the microphone; with the far end talking
// too (double talk, its echo in the microphone) it stays audible, within
// 10 dB of that (the canceller's suppression in double talk; logged).
func TestNearEndInTheCall(t *testing.T) {
	for _, c := range []struct {
		name     string
		farTalks bool
		min, max float64 // dB at the far end against the microphone
	}{
		{"near end alone", false, -2, 2},
		{"double talk", true, -10, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := nearEndLevel(t, c.farTalks)
			t.Logf("%s: the near end reached the far end at %+.1f dB of its level at the microphone", c.name, got)
			if got < c.min || got > c.max {
				t.Errorf("%s: %+.1f dB, want between %+.0f and %+.0f", c.name, got, c.min, c.max)
			}
		})
	}
}

// nearEndLevel runs a call whose microphone hears its speaker 60 ms late
// and a near-end talker from 3 s on, with a far end talking or silent,
// and returns the level (dB) of what the far end received over seconds 6
// to 11 against the near end's at the microphone.
func nearEndLevel(t *testing.T, farTalks bool) float64 {
	cfg := testAudio()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	loop := newEchoLoop(cfg.FrameMs, 60*time.Millisecond)
	talk := synth.VoiceSamples(11 * hw.SampleRate)[5*hw.SampleRate/2:]
	loop.near = append(make([]int16, 3*hw.SampleRate), talk...)
	toFar, fromFar := newRTPPipe(1, 0, 0), newRTPPipe(2, 0, 0)
	defer toFar.Close()
	defer fromFar.Close()
	call, err := NewFactory(cfg, settings.Video{}, nil, nil).NewCall(media.CallParams{
		Capture: loop.microphone(), Playback: loop.speaker(), Out: toFar, LevelExtID: levelExt})
	if err != nil {
		t.Fatal(err)
	}
	runs := []func(context.Context) error{call.Run}
	if farTalks {
		call.AddMember("far", fromFar)
		farSnd, err := NewAudioSender(synth.NewVoice(), fromFar, cfg, levelExt, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, farSnd.Run)
	}
	farPlay := newRecordPlaybackMs(cfg.FrameMs)
	farRcv := NewAudioReceiver(farPlay, cfg, levelExt, nil, nil)
	farRcv.AddMember("near", toFar)
	runs = append(runs, farRcv.Run)
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
	}
	frames := 1000 / cfg.FrameMs
	for farPlay.count() < 11*frames && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	got := farPlay.last(5 * frames)
	cancel()
	loop.close()
	wg.Wait()
	farPlay.Close()
	return 10 * math.Log10(energyOf(got)/energyOf(loop.near[6*hw.SampleRate:11*hw.SampleRate]))
}

func energyOf(p []int16) float64 {
	e := 0.0
	for _, v := range p {
		e += float64(v) * float64(v)
	}
	return e
}

// deviceClock finds a device's rate against the system clock through the
// jitter of single frames: two devices 50 ppm apart, frames arriving up to
// 15 ms early or late, are told apart within 5 ppm after 30 s; nothing is
// told before 20 s, and a restart forgets the rate.
func TestDeviceClock(t *testing.T) {
	var mic, spk deviceClock
	start := time.Now()
	jitter := func(i int) time.Duration { return time.Duration((i*7919)%31-15) * time.Millisecond }
	const frame = hw.FrameSamples
	for i := 0; i < 30*50; i++ {
		// The microphone runs at exactly 48 kHz, the speaker 50 ppm fast:
		// its frames come 50 ppm sooner.
		due := time.Duration(i) * 20 * time.Millisecond
		mic.tick(frame, start.Add(due+jitter(i)))
		spk.tick(frame, start.Add(time.Duration(float64(due)/(1+50e-6))+jitter(i+3)))
		if due < 19*time.Second && (mic.rateNow() != 0 || spk.rateNow() != 0) {
			t.Fatalf("a rate told after %v", due)
		}
	}
	if r := mic.rateNow(); math.Abs(r/hw.SampleRate-1)*1e6 > 5 {
		t.Errorf("the microphone's rate %.3f Hz, want 48000 within 5 ppm", r)
	}
	if d := (spk.rateNow()/mic.rateNow() - 1) * 1e6; math.Abs(d-50) > 5 {
		t.Errorf("drift %.1f ppm, want 50 within 5", d)
	}
	spk.restart()
	if spk.rateNow() != 0 {
		t.Error("a rate after restart")
	}
	spk.tick(frame, start.Add(31*time.Second))
	if spk.n != 1 {
		t.Errorf("the fit was not started afresh: %v points", spk.n)
	}
}
