package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/internal/bench"
)

// cmdM2E measures mouth to ear: member A's capture sends a click every
// -every frames, member B's playback detects it; both daemons (composed
// as voipd composes them) join a voice room on roomd through loopback
// WebRTC. A click is sent when its first sample would reach a real
// microphone (the start of its frame on the capture device's clock) and
// heard when its onset would leave a speaker holding one period (the
// written frame starts playing one period after the device took it).
func cmdM2E(args []string) error {
	fs := newFlags("m2e")
	secs := fs.Int("seconds", 20, "length of the call")
	every := fs.Int("every", 25, "frames between clicks (25: every 0.5 s)")
	fs.Parse(args)
	rm, err := startRoom(context.Background())
	if err != nil {
		return err
	}
	defer rm.srv.Close()

	var mu sync.Mutex
	var mouth *bench.ClickCapture
	var ear *bench.ClickPlayback
	sender := benchAudio{
		newCapture:  func() hw.Capture { mu.Lock(); defer mu.Unlock(); mouth = bench.NewClickCapture(*every); return mouth },
		newPlayback: synth.NewSink,
	}
	listener := benchAudio{
		newCapture:  func() hw.Capture { return bench.NewClickCapture(math.MaxInt32) }, // silence
		newPlayback: func() hw.Playback { mu.Lock(); defer mu.Unlock(); ear = bench.NewClickPlayback(); return ear },
	}
	a, err := newBenchDaemon(rm, "mouth", sender, logger())
	if err != nil {
		return err
	}
	b, err := newBenchDaemon(rm, "ear", listener, logger())
	if err != nil {
		return err
	}
	if err := rpc(b, "joinVoIPChat", rm.joinParams("ear", "m2e", "voice")); err != nil {
		return err
	}
	if err := rpc(a, "joinVoIPChat", rm.joinParams("mouth", "m2e", "voice")); err != nil {
		return err
	}
	time.Sleep(time.Duration(*secs) * time.Second)
	rpc(a, "exitVoIPChat", nil)
	rpc(b, "exitVoIPChat", nil)
	mu.Lock()
	sent, heard := mouth.Sent(), ear.Heard()
	mu.Unlock()
	delays := bench.Millis(bench.MatchClicks(sent, heard, time.Second))
	progress("mouth to ear: %d clicks sent, %d heard, %d matched: %v ms", len(sent), len(heard), len(delays), delays)

	cfgJitterMin := float64(config.Default().Audio.JitterMinMs) // the daemons' setting
	terms := []struct {
		what string
		ms   float64
	}{
		{"capture frame (a sample waits for its 20 ms frame to complete)", hw.FrameMillis},
		{"Opus look-ahead (VOIP application, 48 kHz)", 6.5},
		{"jitter buffer floor (audio.jitterMinMs)", cfgJitterMin},
		{"playback period (one frame held by the device)", hw.FrameMillis},
	}
	var budget float64
	fmt.Printf("### Mouth to ear\n\n")
	fmt.Printf("Two daemons composed in one process as voipd composes them (daemon, package media's pipelines, room's\n")
	fmt.Printf("WebRTC client) in a voice room on roomd over loopback, config.toml's defaults, for %d s. The sender's\n", *secs)
	fmt.Printf("microphone is a click source (a 5 ms 1 kHz burst after silence, every %d frames), the listener's speaker\n", *every)
	fmt.Printf("a detector (internal/bench/click.go); both keep a 20 ms device clock on the monotonic clock. %d clicks\n", len(sent))
	fmt.Printf("sent, %d detected, %d matched to their click.\n\n", len(heard), len(delays))
	fmt.Printf("| term | ms |\n| --- | --- |\n")
	for _, t := range terms {
		budget += t.ms
		fmt.Printf("| %s | %.1f |\n", t.what, t.ms)
	}
	fmt.Printf("| **budget** (sum) | **%.1f** |\n", budget)
	p50, p95 := bench.Median(delays), bench.Percentile(delays, 95)
	fmt.Printf("| measured, p50 | %s |\n| measured, p95 | %s |\n", bench.Figure(p50, ""), bench.Figure(p95, ""))
	fmt.Printf("| measured p50 − budget | %s |\n", bench.Figure(p50-budget, ""))
	fmt.Printf("\nThe remainder is what the budget leaves out: the phase between the two device clocks (a decoded frame\n")
	fmt.Printf("waits for the speaker's next 20 ms slot: 0–20 ms, fixed for a run, which is why p50 and p95 are close),\n")
	fmt.Printf("loopback network and scheduling, any growth of the jitter buffer's target above its floor, and the\n")
	fmt.Printf("detector's threshold (the onset is found a few samples into the burst).\n")
	return nil
}
