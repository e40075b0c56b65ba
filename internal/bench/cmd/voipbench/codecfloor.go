package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/voipd/voipd/codec/opus"
	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/media/pipeline"
	"github.com/voipd/voipd/media/settings"
)

// The codec subcommand: the voice call's codec alone, the floor issue 19
// measures voipd's cost against ("a voice call that costs little more than
// its codec"). The same tone a voipd's "tone:440" gives (hw/synth, paced
// at 20 ms, so the codec's caches are as cold between frames as in the
// call) is encoded with voipd's default Opus settings (media/settings) and
// the packet decoded, 50 frames a second each way; the thread's CPU time
// around the two calls alone is what is counted.

// codecCost is the floor's figures.
type codecCost struct {
	percent            float64 // of one core: encode + decode, 50 frames/s each
	encodeUs, decodeUs float64 // per frame
	// With video (a video call's member): the pattern camera's frames
	// VP8-encoded at its rate on their own thread, as a VideoSender does.
	video               bool
	videoPercent, vp8Us float64 // of one core; per frame
}

// total is the floor of one call's member: audio, and video if measured.
func (c codecCost) total() float64 { return c.percent + c.videoPercent }

func cmdCodec(args []string) error {
	fs := newFlags("codec")
	secs := fs.Int("seconds", 30, "how long to encode and decode in real time")
	video := fs.Bool("video", false, "also VP8-encode the pattern camera at voipd's video defaults (640x480@30, 800 kbit/s) on its own thread, as a video call's member does")
	fs.Parse(args)
	d := time.Duration(*secs) * time.Second
	var v codecCost
	vErr := make(chan error, 1)
	if *video {
		go func() {
			var err error
			v, err = videoFloor(d)
			vErr <- err
		}()
	}
	c, err := codecFloor(d)
	if err != nil {
		return err
	}
	if *video {
		if err := <-vErr; err != nil {
			return err
		}
		fmt.Printf("codec %.4f %.2f %.2f %.4f %.2f\n", c.percent, c.encodeUs, c.decodeUs, v.videoPercent, v.vp8Us)
		return nil
	}
	fmt.Printf("codec %.4f %.2f %.2f\n", c.percent, c.encodeUs, c.decodeUs)
	return nil
}

// threadCPUNs is this thread's CPU time to the nanosecond
// (CLOCK_THREAD_CPUTIME_ID; getrusage's per-thread figures move in ticks).
func threadCPUNs() float64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return float64(ts.Nano()) / 1e9
}

// codecFloor encodes and decodes the tone in real time for d.
func codecFloor(d time.Duration) (codecCost, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	a := settings.DefaultAudio()
	enc, err := opus.NewEncoder(opus.EncoderParams{Bitrate: a.Bitrate, FEC: a.FEC, DTX: a.DTX,
		PacketLossPerc: a.PacketLossPerc, Complexity: a.Complexity})
	if err != nil {
		return codecCost{}, err
	}
	dec, err := opus.NewDecoder()
	if err != nil {
		return codecCost{}, err
	}
	tone := synth.NewTone(440, 0.25) // as hw/audio opens "tone:440"
	defer tone.Close()
	pcm, pkt, out := make([]int16, hw.FrameSamples), make([]byte, opus.MaxPacketBytes), make([]int16, opus.MaxFrameSamples)
	var encT, decT float64 // seconds
	frames := 0
	start := time.Now()
	for time.Since(start) < d {
		if err := tone.Read(pcm); err != nil {
			return codecCost{}, err
		}
		t0 := threadCPUNs()
		n, err := enc.Encode(pkt, pcm)
		t1 := threadCPUNs()
		if err != nil {
			return codecCost{}, err
		}
		if _, err := dec.Decode(out, pkt[:n]); err != nil {
			return codecCost{}, err
		}
		t2 := threadCPUNs()
		encT, decT = encT+t1-t0, decT+t2-t1
		frames++
	}
	if frames == 0 {
		return codecCost{}, fmt.Errorf("no frame in %v", d)
	}
	el := time.Since(start)
	return codecCost{percent: 100 * (encT + decT) / el.Seconds(),
		encodeUs: encT * 1e6 / float64(frames), decodeUs: decT * 1e6 / float64(frames)}, nil
}

// videoFloor VP8-encodes the pattern camera's frames as they come due
// (hw/synth paces them at the camera's rate) for d, with a video call's
// encoder settings (media/settings' defaults through media/pipeline), and
// counts this thread's CPU time in the encode calls alone. The camera is
// named as the call bench's first member's ("pattern:bench-a"), so the
// pixels are the ones its call sends.
func videoFloor(d time.Duration) (codecCost, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	v := settings.DefaultVideo()
	cam := synth.NewPatternCamera("bench-a", hw.CameraRequest{Width: v.Width, Height: v.Height, FPS: v.FPS})
	defer cam.Close()
	enc, err := vp8.NewEncoder(pipeline.VideoEncoderParams(v))
	if err != nil {
		return codecCost{}, err
	}
	defer enc.Close()
	buf := make([]byte, vp8.MaxFrameBytes(v.Width, v.Height))
	var encT float64
	frames := 0
	start := time.Now()
	for time.Since(start) < d {
		f, err := cam.ReadFrame()
		if err != nil {
			return codecCost{}, err
		}
		img, err := i420View(f)
		if err != nil {
			return codecCost{}, err
		}
		t0 := threadCPUNs()
		_, _, err = enc.Encode(buf, img, int64(frames)*90000/int64(v.FPS), false)
		encT += threadCPUNs() - t0
		if err != nil {
			return codecCost{}, err
		}
		frames++
	}
	if frames == 0 {
		return codecCost{}, fmt.Errorf("no video frame in %v", d)
	}
	return codecCost{video: true, videoPercent: 100 * encT / time.Since(start).Seconds(),
		vp8Us: encT * 1e6 / float64(frames)}, nil
}

// i420View is an I420 camera frame's planes, without a copy.
func i420View(f hw.VideoFrame) (yuv.I420, error) {
	w, h := f.Width, f.Height
	cw, ch := yuv.ChromaSize(w, h)
	if f.Format != hw.FormatI420 || len(f.Data) < w*h+2*cw*ch {
		return yuv.I420{}, fmt.Errorf("camera frame %q %dx%d of %d bytes: want I420", f.Format, w, h, len(f.Data))
	}
	return yuv.I420{Y: f.Data[:w*h], U: f.Data[w*h : w*h+cw*ch], V: f.Data[w*h+cw*ch : w*h+2*cw*ch],
		YStride: w, UStride: cw, VStride: cw, Width: w, Height: h}, nil
}

// codecChild runs the codec subcommand as its own process, on the CPU
// voipd runs on (-client-cpu), and reads its figures; with video, the
// video call's floor too.
func codecChild(d time.Duration, video bool) (codecCost, error) {
	self, err := os.Executable()
	if err != nil {
		return codecCost{}, err
	}
	argv := []string{self, "codec", "-seconds", strconv.Itoa(int(d.Seconds()))}
	if video {
		argv = append(argv, "-video")
	}
	if *clientCPU != "" {
		argv = append([]string{"taskset", "-c", *clientCPU}, argv...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		return codecCost{}, fmt.Errorf("voipbench codec: %w", err)
	}
	c, err := parseCodecLine(string(out), video)
	if err != nil {
		return codecCost{}, err
	}
	progress("codec alone: %.2f %% of a core (encode %.0f µs, decode %.0f µs a frame)", c.percent, c.encodeUs, c.decodeUs)
	if video {
		progress("VP8 alone: %.2f %% of a core (%.0f µs a frame)", c.videoPercent, c.vp8Us)
	}
	return c, nil
}

// parseCodecLine reads the codec subcommand's line: "codec" and three
// figures, five with video.
func parseCodecLine(out string, video bool) (codecCost, error) {
	f := strings.Fields(strings.TrimSpace(out))
	want := 4
	if video {
		want = 6
	}
	if len(f) != want || f[0] != "codec" {
		return codecCost{}, fmt.Errorf("voipbench codec said %q", out)
	}
	c := codecCost{video: video}
	for i, p := range []*float64{&c.percent, &c.encodeUs, &c.decodeUs, &c.videoPercent, &c.vp8Us}[:want-1] {
		var err error
		if *p, err = strconv.ParseFloat(f[i+1], 64); err != nil {
			return codecCost{}, fmt.Errorf("voipbench codec said %q", out)
		}
	}
	return c, nil
}
