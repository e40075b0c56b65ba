package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/voipd/voipd/codec/codectest"
	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
)

// speedResult is one libvpx speed setting encoding the test sequence.
type speedResult struct {
	cpuUsed   int
	cpuPerFr  float64 // ms of this thread's CPU per frame, the fastest round
	psnrMean  float64 // dB, luma, mean over frames
	psnrMin   float64
	kbps      float64 // achieved
	keyframes int
}

// cmdVP8Speed encodes the same moving pattern at each libvpx speed setting
// with codec/vp8's Encoder (the settings media uses), decodes every frame
// and reports CPU per frame beside the decoded picture's PSNR: the figure
// that chose video.cpuUsed's default.
func cmdVP8Speed(args []string) error {
	fs := newFlags("vp8speed")
	w := fs.Int("w", 640, "width")
	h := fs.Int("h", 480, "height")
	frames := fs.Int("frames", 300, "frames per round (30 fps)")
	rounds := fs.Int("rounds", 3, "rounds per setting (the fastest round's CPU is reported)")
	bitrate := fs.Int("bitrate", vp8.DefaultBitrate, "CBR target, bit/s")
	content := fs.String("content", "camera,pattern", "comma-separated: camera (hw/synth's pattern camera, what the call benchmark sends), pattern (codec/codectest's, what the micro-benchmarks encode)")
	fs.Parse(args)
	settings := []int{8, 4, -4, -6, -8, -10, -12, -16}
	if fs.NArg() > 0 {
		settings = settings[:0]
		for _, a := range fs.Args() {
			var n int
			if _, err := fmt.Sscan(a, &n); err != nil {
				return fmt.Errorf("cpu-used %q: %v", a, err)
			}
			settings = append(settings, n)
		}
	}
	runtime.LockOSThread() // RUSAGE_THREAD measures this thread: libvpx runs on it (1 thread)
	defer runtime.UnlockOSThread()
	fmt.Printf("### VP8 speed against picture quality\n\n")
	fmt.Printf("codec/vp8's Encoder with media's settings (realtime, 1 thread, CBR %d kbit/s, error resilient, lag 0) encodes\n", *bitrate/1000)
	fmt.Printf("%d frames at %dx%d@30 for each libvpx cpu-used value; every frame is decoded and compared with its\n", *frames, *w, *h)
	fmt.Printf("source (luma PSNR). A positive cpu-used lets libvpx choose the speed from its own encode times (it slows\n")
	fmt.Printf("down while frames take less than (16 − n)/16 of the frame interval), a negative one fixes speed |n|;\n")
	fmt.Printf("libwebrtc (Chromium) uses −6 on x86 at this size. CPU is this thread's (RUSAGE_THREAD), the fastest of\n")
	fmt.Printf("%d interleaved rounds. The default is video.cpuUsed = %d.\n", *rounds, vp8.DefaultCPUUsed)
	for _, c := range strings.Split(*content, ",") {
		src, what, err := speedFrames(c, *w, *h)
		if err != nil {
			return err
		}
		results, err := speedRounds(src, settings, *bitrate, *frames, *rounds)
		if err != nil {
			return err
		}
		fmt.Printf("\n%s:\n\n", what)
		fmt.Printf("| cpu-used | CPU per frame | ÷ cpu-used −6 | PSNR mean | PSNR min | bitrate | keyframes |\n")
		fmt.Printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		ref := math.NaN()
		for _, r := range results {
			if r.cpuUsed == -6 {
				ref = r.cpuPerFr
			}
		}
		for _, r := range results {
			ratio := "—"
			if !math.IsNaN(ref) {
				ratio = fmt.Sprintf("%.2f×", r.cpuPerFr/ref)
			}
			def := ""
			if r.cpuUsed == vp8.DefaultCPUUsed {
				def = " (default)"
			}
			fmt.Printf("| %d%s | %.2f ms | %s | %.2f dB | %.2f dB | %.0f kbit/s | %d |\n", r.cpuUsed, def, r.cpuPerFr, ratio, r.psnrMean, r.psnrMin, r.kbps, r.keyframes)
		}
	}
	if err := encoderMemory(*w, *h, *bitrate); err != nil {
		return err
	}
	fmt.Println()
	return nil
}

// encoderMemory reports the anonymous memory one codec/vp8 Encoder takes
// (libvpx's allocations), created and after 300 frames, with and without
// a Decoder beside it.
func encoderMemory(w, h, bitrate int) error {
	debug.FreeOSMemory()
	a0 := rssAnonKiB()
	enc, err := vp8.NewEncoder(vp8.EncoderParams{Width: w, Height: h, FPS: 30, Bitrate: bitrate})
	if err != nil {
		return err
	}
	defer enc.Close()
	a1 := rssAnonKiB()
	src, _, err := speedFrames("camera", w, h)
	if err != nil {
		return err
	}
	buf := make([]byte, vp8.MaxFrameBytes(w, h))
	debug.FreeOSMemory()
	a2 := rssAnonKiB() // the frames and buffer are Go memory: counted from here
	for i := range 300 {
		if _, _, err := enc.Encode(buf, src[i%len(src)], int64(i)*3000, false); err != nil {
			return err
		}
	}
	a3 := rssAnonKiB()
	dec, err := vp8.NewDecoder()
	if err != nil {
		return err
	}
	defer dec.Close()
	n, _, err := enc.Encode(buf, src[0], 300*3000, true)
	if err != nil {
		return err
	}
	if _, err := dec.Decode(buf[:n]); err != nil {
		return err
	}
	a4 := rssAnonKiB()
	fmt.Printf("\nMemory (this process's RssAnon from /proc/self/status): a %dx%d Encoder takes %.1f MiB when created\n", w, h, float64(a1-a0)/1024)
	fmt.Printf("(libvpx allocates and clears a token buffer of mb_rows × mb_cols × 384 entries, 16 bytes each, at creation;\n")
	fmt.Printf("codec/vp8 gives back its pages that are still zero, and encoding writes back the ones it uses) and %.1f MiB\n", float64(a1-a0+a3-a2)/1024)
	fmt.Printf("after 300 frames; a Decoder with one frame decoded adds %.1f MiB (voipd makes none: it decodes no member's video).\n", float64(a4-a3)/1024)
	return nil
}

// rssAnonKiB is this process's anonymous resident memory.
func rssAnonKiB() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssAnon:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

// speedRounds encodes src at each setting, rounds interleaving the
// settings so a burst of other load spreads over all of them.
func speedRounds(src []yuv.I420, settings []int, bitrate, frames, rounds int) ([]speedResult, error) {
	results := make([]speedResult, len(settings))
	for i, s := range settings {
		results[i] = speedResult{cpuUsed: s, cpuPerFr: math.Inf(1)}
	}
	for r := range rounds {
		for i := range settings {
			res, err := encodeRound(src, settings[i], bitrate, frames)
			if err != nil {
				return nil, err
			}
			progress("vp8speed: cpu-used %d round %d: %.2f ms/frame, PSNR %.2f dB, %.0f kbit/s", settings[i], r+1, res.cpuPerFr, res.psnrMean, res.kbps)
			res.cpuPerFr = min(res.cpuPerFr, results[i].cpuPerFr)
			results[i] = res
		}
	}
	return results, nil
}

// speedFrames is two seconds of the content, cycled by the rounds.
func speedFrames(content string, w, h int) ([]yuv.I420, string, error) {
	src := make([]yuv.I420, 60)
	var cam *synth.Pattern
	switch content {
	case "pattern":
	case "camera":
		c, ok := synth.NewPatternCamera("bench-a", hw.CameraRequest{Width: w, Height: h, FPS: 30}).(*synth.Pattern)
		if !ok {
			return nil, "", fmt.Errorf("the pattern camera is not a *synth.Pattern")
		}
		defer c.Close()
		cam = c
	default:
		return nil, "", fmt.Errorf("content %q: want camera or pattern", content)
	}
	for i := range src {
		src[i] = yuv.NewI420(w, h)
		if cam == nil {
			codectest.Pattern(src[i], i)
			continue
		}
		f := cam.Frame(uint64(i))
		if f.Width != w || f.Height != h {
			return nil, "", fmt.Errorf("pattern camera gives %dx%d, not %dx%d", f.Width, f.Height, w, h)
		}
		copy(src[i].Y, f.Data[:w*h])
		copy(src[i].U, f.Data[w*h:w*h*5/4])
		copy(src[i].V, f.Data[w*h*5/4:])
	}
	if cam != nil {
		return src, "hw/synth's pattern camera (what the call benchmark's voipd sends)", nil
	}
	return src, "codec/codectest's moving pattern", nil
}

func encodeRound(src []yuv.I420, cpuUsed, bitrate, frames int) (speedResult, error) {
	img := src[0]
	enc, err := vp8.NewEncoder(vp8.EncoderParams{Width: img.Width, Height: img.Height, FPS: 30, Bitrate: bitrate, CPUUsed: cpuUsed})
	if err != nil {
		return speedResult{}, err
	}
	defer enc.Close()
	dec, err := vp8.NewDecoder()
	if err != nil {
		return speedResult{}, err
	}
	defer dec.Close()
	buf := make([]byte, vp8.MaxFrameBytes(img.Width, img.Height))
	res := speedResult{cpuUsed: cpuUsed, psnrMin: math.Inf(1)}
	var encCPU float64
	var bytes int
	psnrs := make([]float64, 0, frames)
	for i := range frames {
		s := src[i%len(src)]
		t0 := threadCPU()
		n, key, err := enc.Encode(buf, s, int64(i)*3000, false)
		encCPU += threadCPU() - t0
		if err != nil {
			return res, err
		}
		if key {
			res.keyframes++
		}
		bytes += n
		out, err := dec.Decode(buf[:n])
		if err != nil {
			return res, fmt.Errorf("decode frame %d at cpu-used %d: %v", i, cpuUsed, err)
		}
		p := psnrY(s, out)
		psnrs = append(psnrs, p)
		res.psnrMin = min(res.psnrMin, p)
	}
	sort.Float64s(psnrs)
	var sum float64
	for _, p := range psnrs {
		sum += p
	}
	res.psnrMean = sum / float64(len(psnrs))
	res.cpuPerFr = encCPU / float64(frames) * 1000
	res.kbps = float64(bytes) * 8 / (float64(frames) / 30) / 1000
	return res, nil
}

// threadCPU is this OS thread's user+system CPU time in seconds.
func threadCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		panic(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// psnrY is the luma PSNR of b against a, capped at 99 dB for identical planes.
func psnrY(a, b yuv.I420) float64 {
	var se float64
	for y := range a.Height {
		ra := a.Y[y*a.YStride : y*a.YStride+a.Width]
		rb := b.Y[y*b.YStride : y*b.YStride+a.Width]
		for x := range ra {
			d := float64(int(ra[x]) - int(rb[x]))
			se += d * d
		}
	}
	mse := se / float64(a.Width*a.Height)
	if mse == 0 {
		return 99
	}
	return 10 * math.Log10(255*255/mse)
}
