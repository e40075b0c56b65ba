package main

import (
	"bufio"
	"fmt"
	"math"
	"os"

	"github.com/voipd/voipd/codec/codectest"
	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/internal/bench"
)

// cmdMicro reads the benchmark lines scripts/bench.sh collected (Go
// benchmarks, the C loops and ffmpeg, interleaved over rounds) and prints
// the Opus and VP8 sections: each path's median beside its anchor's.
func cmdMicro(args []string) error {
	fs := newFlags("micro")
	raw := fs.String("raw", "", "file of benchmark lines")
	fs.Parse(args)
	f, err := os.Open(*raw)
	if err != nil {
		return err
	}
	defer f.Close()
	res := bench.ParseBench(f)
	row := func(what, ours, anchor, aname string, scale, mult float64, unit string, goal bench.Goal) bench.Row {
		what = fmt.Sprintf("%s (median ratio %.2f×", what, res.Median(ours)/(mult*res.Median(anchor)))
		if a := res.Allocs(ours); !math.IsNaN(a) {
			what = fmt.Sprintf("%s, %g allocs/op", what, a)
		}
		return bench.Row{What: what + ")", Ours: res.Min(ours) / scale, Anchor: mult * res.Min(anchor) / scale, Unit: unit, AName: aname, Goal: goal}
	}
	opusGoal := bench.Goal{Max: 1.05, Label: "≤ 1.05×"}
	const us = 1e3
	opus := []bench.Row{
		row("media send: encode + packetise + WriteRTP", "BenchmarkSendFrame", "BenchmarkCLoopOpusEncode", "C loop over libopus", us, 1, "µs", opusGoal),
		row("codec/opus Encode", "BenchmarkEncode", "BenchmarkCLoopOpusEncode", "C loop over libopus", us, 1, "µs", opusGoal),
		row("codec/opus Encode", "BenchmarkEncode", "BenchmarkAnchorLibopusEncode", "libopus through hraban/opus", us, 1, "µs", bench.Goal{}),
		row("libopus through hraban/opus (cgo)", "BenchmarkAnchorLibopusEncode", "BenchmarkCLoopOpusEncode", "C loop over libopus", us, 1, "µs", bench.Goal{}),
		row("codec/opus Decode", "BenchmarkDecode", "BenchmarkAnchorLibopusDecode", "libopus decode (hraban/opus)", us, 1, "µs", bench.Goal{}),
		row("media receive: jitter + decode + mix, 1 member", "BenchmarkReceiveFrame", "BenchmarkAnchorLibopusDecode", "libopus decode (hraban/opus)", us, 1, "µs", bench.Goal{}),
		row("media receive, 4 members", "BenchmarkReceiveFrame4Members", "BenchmarkAnchorLibopusDecode", "4 × libopus decode", us, 4, "µs", bench.Goal{}),
	}
	apm := []bench.Row{
		row("codec/apm: echo cancellation, noise suppression, gain control, high-pass (render + capture)", "BenchmarkFrame",
			"BenchmarkEncode", "codec/opus Encode, the step it precedes", us, 1, "µs", bench.Goal{}),
		{What: fmt.Sprintf("codec/apm, the same (%g allocs/op)", res.Allocs("BenchmarkFrame")), Ours: res.Min("BenchmarkFrame") / us,
			Anchor: math.NaN(), Unit: "µs", Goal: bench.Goal{Max: 250, Label: "≤ 250 µs"}},
	}
	vp8Goal := bench.Goal{Max: 1.10, Label: "≤ 1.10×"}
	const ms = 1e6
	var vp8 []bench.Row
	for _, sz := range []string{"640x480", "1280x720"} {
		vp8 = append(vp8,
			row("media send "+sz+": YUYV → I420 → encode → packetise", "BenchmarkVideoSendFrame"+sz, "BenchmarkCLoopVP8Encode"+sz, "C loop over libvpx", ms, 1, "ms", vp8Goal),
			row("codec/vp8 Encode "+sz, "BenchmarkAnchorVP8Encode"+sz, "BenchmarkCLoopVP8Encode"+sz, "C loop over libvpx", ms, 1, "ms", bench.Goal{}),
			row("media send "+sz, "BenchmarkVideoSendFrame"+sz, "BenchmarkFFmpegVP8Encode"+sz, "ffmpeg -c:v libvpx (CPU time)", ms, 1, "ms", bench.Goal{}),
			row("ffmpeg -c:v libvpx "+sz+" (CPU time)", "BenchmarkFFmpegVP8Encode"+sz, "BenchmarkCLoopVP8Encode"+sz, "C loop over libvpx", ms, 1, "ms", bench.Goal{}))
	}
	rounds := res.Runs("BenchmarkCLoopOpusEncode")
	fmt.Printf("### Opus: one 20 ms frame\n\n")
	fmt.Printf("48 kHz mono, the VOIP application, 32 kbit/s, in-band FEC, 10 %% expected loss, DTX, libopus' default\n")
	fmt.Printf("complexity (10; config.toml's default is 9, the benchmarks leave it unset on both sides); the same\n")
	fmt.Printf("440 Hz frame (amplitude 8000) every time. The C loop is internal/bench/anchor/opus_loop.c (gcc -O2),\n")
	fmt.Printf("5000 frames a round, after 200 untimed (the Go benchmarks warm up with 200 too). %s\n\n", roundsNote(rounds))
	fmt.Print(bench.Table(opus))
	fmt.Printf("\n### Hands-free processing: one 20 ms frame\n\n")
	fmt.Printf("codec/apm (WebRTC's audio processing module 0.3, Debian's libwebrtc-audio-processing) with every\n")
	fmt.Printf("stage voipd runs by default: the far end's 20 ms rendered, the microphone's 20 ms processed with its delay\n")
	fmt.Printf("(two 10 ms frames each way), on a synthetic echo of speech-like sound, beside the Opus encode the\n")
	fmt.Printf("frame goes to next. How much echo it removes is in the next section, against PulseAudio's canceller.\n\n")
	fmt.Print(bench.Table(apm))
	fmt.Printf("\n### VP8: one camera frame\n\n")
	fmt.Printf("The same 30 frames of codec/codectest's moving pattern, cycled, on every side: media's path gets them\n")
	fmt.Printf("as YUYV (a camera's format) and converts; the C loop (internal/bench/anchor/vpx_loop.c) and ffmpeg read\n")
	fmt.Printf("them as raw I420 written by `voipbench frames`. Settings on every side: realtime deadline, cpu-used −6,\n")
	fmt.Printf("1 thread, CBR 800 kbit/s, error resilient, lag 0, static threshold 1, max intra 900 %%, q 2..56,\n")
	fmt.Printf("a keyframe at least every 90 frames. ffmpeg's figure is its user+sys CPU time over the whole run\n")
	fmt.Printf("(300 frames at 640x480, 120 at 1280x720) divided by the frames, so it includes reading the file.\n")
	fmt.Printf("Every side warms up untimed first (the C loops one run, the Go benchmarks one pass of the frames).\n")
	fmt.Printf("%s\n\n", roundsNote(res.Runs("BenchmarkCLoopVP8Encode640x480")))
	fmt.Print(bench.Table(vp8))
	fmt.Printf("\nWhere the path's time beyond the C loop goes (measured with perf on this machine, one CPU as here):\n")
	fmt.Printf("YUYV → I420 (libyuv) is about 7 %% of the path's time at 640x480 (the C loop gets I420 for nothing),\n")
	fmt.Printf("and Go's scheduler around a long cgo call about 3 %%: while libvpx runs, sysmon\n")
	fmt.Printf("retakes the goroutine's P and wakes a thread, and the return wakes sysmon again, about 4.6 context\n")
	fmt.Printf("switches a frame on the encoding CPU (perf stat: 5500 in 1200 frames; the C loop: 10 in all).\n")
	return nil
}

func roundsNote(n int) string {
	return fmt.Sprintf("Figures are the fastest of %d interleaved rounds on each side (other load on the shared machine\n"+
		"only adds time, so the least disturbed round is the best estimate); the median ratio is beside each path.", n)
}

// cmdFrames writes the frames the Go benchmarks encode (codectest.Pattern,
// n frames) as raw I420, planes packed without padding: the input of the C
// loop over libvpx and of ffmpeg.
func cmdFrames(args []string) error {
	fs := newFlags("frames")
	out := fs.String("o", "frames.yuv", "output file")
	w := fs.Int("w", 640, "width")
	h := fs.Int("h", 480, "height")
	n := fs.Int("n", 30, "frames (the Go benchmarks cycle 30)")
	fs.Parse(args)
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	img := yuv.NewI420(*w, *h)
	cw, ch := yuv.ChromaSize(*w, *h)
	for i := range *n {
		codectest.Pattern(img, i)
		for y := range *h {
			bw.Write(img.Y[y*img.YStride : y*img.YStride+*w])
		}
		for y := range ch {
			bw.Write(img.U[y*img.UStride : y*img.UStride+cw])
		}
		for y := range ch {
			bw.Write(img.V[y*img.VStride : y*img.VStride+cw])
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	progress("wrote %d %dx%d I420 frames to %s", *n, *w, *h, *out)
	return f.Close()
}
