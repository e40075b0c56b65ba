package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/internal/bench"
)

// opusLookaheadMs is libopus' algorithmic delay with the VOIP application
// at 48 kHz (OPUS_GET_LOOKAHEAD: 2.5 ms + 4 ms of delay compensation),
// whatever the frame length.
const opusLookaheadMs = 6.5

// cmdM2E measures mouth to ear between two voipd processes: each one's
// microphone is hw/synth's click source and its speaker the click detector
// ("click:PATH", "detect:PATH"), both in a voice room on a roomd in this
// process over loopback. A click is sent when its first sample enters the
// microphone (the start of its frame on the capture device's clock) and
// heard when its onset leaves the speaker (the written frame starts playing
// one period after the device took it); both are logged on CLOCK_MONOTONIC,
// which the two processes share.
func cmdM2E(args []string) error {
	fs := newFlags("m2e")
	secs := fs.Int("seconds", 20, "length of each configuration's call")
	frames := fs.String("frames", "20,10", "audio.frameMs of the configurations to measure, comma-separated")
	fs.Parse(args)
	rm, err := startRoom(context.Background())
	if err != nil {
		return err
	}
	defer rm.srv.Close()

	def := config.Default().Audio
	var setups []m2eSetup
	for _, f := range strings.Split(*frames, ",") {
		ms, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return fmt.Errorf("-frames %q: %v", *frames, err)
		}
		// config.toml's defaults are the 20 ms configuration; the 10 ms
		// choice lowers the jitter floor with the frame, as config.toml says.
		s := m2eSetup{frameMs: ms, jitterMinMs: def.JitterMinMs}
		if ms != def.FrameMs {
			s.jitterMinMs = ms
		}
		s.name = fmt.Sprintf("audio.frameMs = %d, jitterMinMs = %d", ms, s.jitterMinMs)
		setups = append(setups, s)
	}
	var results []m2eResult
	for _, s := range setups {
		r, err := runM2E(rm, s, time.Duration(*secs)*time.Second)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		progress("mouth to ear, %s: %d clicks sent, %d heard, %d matched: %v ms", s.name, r.sent, r.heard, len(r.delays), r.delays)
		results = append(results, r)
	}
	printM2E(setups, results, *secs)
	return nil
}

func printM2E(setups []m2eSetup, results []m2eResult, secs int) {
	fmt.Printf("### Mouth to ear\n\n")
	fmt.Printf("Two voipd processes (bin/voipd) in a voice room on roomd over loopback, for %d s per configuration, each\n", secs)
	fmt.Printf("sending to the other. Each one's microphone is hw/synth's click source (`audio.capture = \"click:PATH\"`:\n")
	fmt.Printf("a 5 ms 1 kHz burst after silence, every 0.5 s) and its speaker the click detector (`audio.playback =\n")
	fmt.Printf("\"detect:PATH\"`), both paced by a device clock at 48 kHz. A click is sent when its first sample enters the\n")
	fmt.Printf("microphone (the start of its frame), and heard when its onset leaves the speaker (the device holds one\n")
	fmt.Printf("period); both logged on CLOCK_MONOTONIC, shared by the processes. config.toml's defaults otherwise;\n")
	fmt.Printf("the 10 ms column sets `audio.frameMs = 10` (Opus frames, RTP packets, device periods) and\n")
	fmt.Printf("`audio.jitterMinMs = 10`.\n\n")
	head, sep := "| term |", "| --- |"
	for _, s := range setups {
		head += " " + s.name + " |"
		sep += " --- |"
	}
	fmt.Println(head)
	fmt.Println(sep)
	row := func(what string, f func(s m2eSetup, r m2eResult) string) {
		line := "| " + what + " |"
		for i, s := range setups {
			line += " " + f(s, results[i]) + " |"
		}
		fmt.Println(line)
	}
	ms := func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
	budget := func(s m2eSetup) float64 {
		return float64(s.frameMs) + opusLookaheadMs + float64(s.jitterMinMs) + float64(s.frameMs)
	}
	row("capture frame (a sample waits for its frame to complete, audio.frameMs)", func(s m2eSetup, _ m2eResult) string { return ms(float64(s.frameMs)) })
	row("Opus look-ahead (VOIP application, 48 kHz)", func(m2eSetup, m2eResult) string { return ms(opusLookaheadMs) })
	row("jitter buffer floor (audio.jitterMinMs)", func(s m2eSetup, _ m2eResult) string { return ms(float64(s.jitterMinMs)) })
	row("playback period (one frame held by the device)", func(s m2eSetup, _ m2eResult) string { return ms(float64(s.frameMs)) })
	row("**budget** (sum)", func(s m2eSetup, _ m2eResult) string { return "**" + ms(budget(s)) + "**" })
	row("measured, p50", func(_ m2eSetup, r m2eResult) string { return "**" + bench.Figure(bench.Median(r.delays), "") + "**" })
	row("measured, p95", func(_ m2eSetup, r m2eResult) string { return bench.Figure(bench.Percentile(r.delays, 95), "") })
	row("measured p50 − budget", func(s m2eSetup, r m2eResult) string { return bench.Figure(bench.Median(r.delays)-budget(s), "") })
	row("clicks sent / heard / matched", func(_ m2eSetup, r m2eResult) string {
		return fmt.Sprintf("%d / %d / %d", r.sent, r.heard, len(r.delays))
	})
	row("first sample → frame handed to voipd, p50 (part of the capture frame)", func(_ m2eSetup, r m2eResult) string {
		return bench.Figure(bench.Median(r.delivery), "")
	})
	fmt.Printf("\nThe remainder is what the budget leaves out: the phase between the two device clocks (a packet waits\n")
	fmt.Printf("for the receiver's next frame slot: 0 to one frame, fixed for a run), loopback network and scheduling,\n")
	fmt.Printf("any growth of the jitter buffer's target above its floor, and the detector's threshold (the onset is found\n")
	fmt.Printf("a few samples into the burst). The floor counts packets held when a talkspurt starts, the newest just\n")
	fmt.Printf("arrived, so the jitter buffer itself holds the click for (floor − one frame) plus that phase.\n")
}
