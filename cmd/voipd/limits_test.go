package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/media/pipeline"
	"github.com/voipd/voipd/roomd"
)

type countRTP struct{ n int }

func (c *countRTP) WriteRTP(*rtp.Packet) error { c.n++; return nil }

// TestEveryAcceptedValueStarts: at each numeric key's lowest and highest
// value the config accepts (config.Ranges; daemon/config's tests show the
// values beyond are refused at load, naming the key), voipd starts and
// answers status, and for the media keys the pipelines build from the
// config and carry audio and video: nothing the config lets through fails
// later with a message that names no key.
func TestEveryAcceptedValueStarts(t *testing.T) {
	for _, r := range config.Ranges {
		edges := []int64{r.Min}
		if r.Max != config.Unbounded {
			edges = append(edges, r.Max)
		}
		for _, v := range edges {
			cfg := config.EdgeConfig(r.Key, v)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("%s = %d: the edge config is refused: %v", r.Key, v, err)
			}
			section, _, _ := strings.Cut(r.Key, ".")
			switch section {
			case "audio", "opus", "video":
				carryMedia(t, r.Key, v, cfg)
			}
			if r.Key == "embedded.udpPort" && v != 0 {
				// A fixed port is not a test's to bind: the room server
				// takes the value, and binding it is the kernel's matter.
				if _, err := roomd.New(roomd.Config{Listen: "127.0.0.1:0", UDPPort: int(v), Apps: []roomd.App{{ID: testApp, Secret: "s"}}}); err != nil {
					t.Errorf("%s = %d: roomd refuses it: %v", r.Key, v, err)
				}
				continue
			}
			startWith(t, r.Key, v, cfg)
		}
	}
}

// startWith starts voipd with cfg (the test's own socket, synthetic
// devices, loopback ports) and asks its status.
func startWith(t *testing.T, key string, v int64, cfg *config.Config) {
	t.Helper()
	cfg.Control.Socket = filepath.Join(shortDir(t), "c.sock")
	cfg.Embedded.Listen = "127.0.0.1:0"
	cfg.Display.Listen = ""
	cfg.Audio.Capture, cfg.Audio.Playback = "tone:440", "null"
	cfg.Video.Camera = "pattern"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	in, cleanup, err := start(ctx, cfg, options{audio: &testAudio{freq: 440}, cameras: &testCameras{name: "edge"}}, quietLogger(t))
	if err != nil {
		t.Errorf("%s = %d: voipd does not start: %v", key, v, err)
		return
	}
	defer cleanup()
	c := dialCtl(t, in.socket)
	if res := c.mustOK("status", nil); res["state"] != "idle" {
		t.Errorf("%s = %d: status %v", key, v, res)
	}
}

// carryMedia builds the pipelines from cfg's media settings and runs them
// until audio and video packets come out.
func carryMedia(t *testing.T, key string, v int64, cfg *config.Config) {
	t.Helper()
	f := pipeline.NewFactory(cfg.AudioSettings(), cfg.VideoSettings(), quietLogger(t), nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // beyond the waits below: they fail first
	defer cancel()

	tone := synth.NewTone(440, 0.3)
	defer tone.Close()
	sink := synth.NewSink()
	defer sink.Close()
	call, err := f.NewCall(media.CallParams{Capture: tone, Playback: sink, Out: &countRTP{}, LevelExtID: 1})
	if err != nil {
		t.Errorf("%s = %d: the audio pipeline does not build: %v", key, v, err)
		return
	}
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- call.Run(cctx) }()
	eventually(t, 10*time.Second, key+": audio packets", func() bool { return call.Stats().Outbound.PacketsSent >= 3 })
	stop()
	if err := <-done; err != nil {
		t.Errorf("%s = %d: the audio pipeline failed: %v", key, v, err)
	}

	vc := cfg.VideoSettings()
	cam := synth.NewPatternCamera("edge", hw.CameraRequest{Width: vc.Width, Height: vc.Height, FPS: vc.FPS})
	defer cam.Close()
	snd, err := f.NewVideoSender(media.VideoSenderParams{Camera: cam, Out: &countRTP{}})
	if err != nil {
		t.Errorf("%s = %d: the video pipeline does not build: %v", key, v, err)
		return
	}
	vctx, vstop := context.WithCancel(ctx)
	vdone := make(chan error, 1)
	go func() { vdone <- snd.Run(vctx) }()
	eventually(t, 20*time.Second, key+": video frames", func() bool { return snd.Stats().FramesEncoded >= 2 })
	vstop()
	if err := <-vdone; err != nil {
		t.Errorf("%s = %d: the video pipeline failed: %v", key, v, err)
	}
}
