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
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
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
}

func cmdCodec(args []string) error {
	fs := newFlags("codec")
	secs := fs.Int("seconds", 30, "how long to encode and decode in real time")
	fs.Parse(args)
	c, err := codecFloor(time.Duration(*secs) * time.Second)
	if err != nil {
		return err
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

// codecChild runs the codec subcommand as its own process, on the CPU
// voipd runs on (-client-cpu), and reads its figures.
func codecChild(d time.Duration) (codecCost, error) {
	self, err := os.Executable()
	if err != nil {
		return codecCost{}, err
	}
	argv := []string{self, "codec", "-seconds", strconv.Itoa(int(d.Seconds()))}
	if *clientCPU != "" {
		argv = append([]string{"taskset", "-c", *clientCPU}, argv...)
	}
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		return codecCost{}, fmt.Errorf("voipbench codec: %w", err)
	}
	f := strings.Fields(strings.TrimSpace(string(out)))
	if len(f) != 4 || f[0] != "codec" {
		return codecCost{}, fmt.Errorf("voipbench codec said %q", out)
	}
	var c codecCost
	for i, p := range []*float64{&c.percent, &c.encodeUs, &c.decodeUs} {
		if *p, err = strconv.ParseFloat(f[i+1], 64); err != nil {
			return codecCost{}, fmt.Errorf("voipbench codec said %q", out)
		}
	}
	progress("codec alone: %.2f %% of a core (encode %.0f µs, decode %.0f µs a frame)", c.percent, c.encodeUs, c.decodeUs)
	return c, nil
}
