package audio

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/audio/alsatest"
)

// alsaChildEnv marks the re-executed test binary that runs the ALSA checks.
const alsaChildEnv = "VOIPD_AUDIO_ALSA_CHILD"

// TestALSABusyChain opens the voipdtest PCM through malgo's ALSA backend and
// drives its failures: EBUSY, ENOENT and EACCES from the plugin's open must
// arrive as hw.ErrBusy, hw.ErrAbsent and hw.ErrPermission.
//
// ALSA reads ALSA_CONFIG_PATH once per process, so the checks run in a
// fresh child (this test binary, re-executed) whose environment points at
// the plugin; the parent builds the plugin and reports the child's result.
func TestALSABusyChain(t *testing.T) {
	if os.Getenv(alsaChildEnv) != "" {
		alsaChain(t, alsatest.FromEnv(t))
		return
	}
	p := alsatest.Build(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestALSABusyChain$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), p.Env()...), alsaChildEnv+"=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("child:\n%s", out.String())
	if err != nil {
		t.Fatalf("ALSA checks failed in the child: %v", err)
	}
	if !bytes.Contains(out.Bytes(), []byte("--- PASS: TestALSABusyChain")) {
		t.Fatal("the child did not run the ALSA checks")
	}
}

func alsaChain(t *testing.T, p *alsatest.Plugin) {
	s, err := New(Config{Backend: "alsa"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	capt, _, err := s.Devices()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ALSA capture devices: %+v", capt)
	if !slices.ContainsFunc(capt, func(d hw.DeviceInfo) bool { return d.ID == p.PCM }) {
		t.Errorf("Devices() does not list %s", p.PCM)
	}

	readSome := func() {
		t.Helper()
		c, err := s.OpenCapture(p.PCM)
		if err != nil {
			t.Fatalf("open %s: %v", p.PCM, err)
		}
		defer c.Close()
		stop := time.AfterFunc(20*time.Second, func() { c.Close() })
		defer stop.Stop()
		frame := make([]int16, hw.FrameSamples)
		start := time.Now()
		const frames = 25
		for i := range frames {
			if err := c.Read(frame); err != nil {
				t.Fatalf("read frame %d: %v", i, err)
			}
			if slices.ContainsFunc(frame, func(v int16) bool { return v != 0 }) {
				t.Fatalf("frame %d is not silence", i)
			}
		}
		if el := time.Since(start); el < (frames-captureRingFrames-5)*20*time.Millisecond {
			t.Fatalf("read %d frames in %v: not paced", frames, el)
		}
	}
	readSome()

	// A name that is neither enumerated nor defined goes to ALSA as a PCM
	// name, and ALSA's ENOENT comes back as absent.
	if _, err := s.OpenCapture("voipd_no_such_pcm"); !errors.Is(err, hw.ErrAbsent) {
		t.Fatalf("unknown PCM: %v, want ErrAbsent", err)
	}

	// Playback consumes at the device pace.
	pb, err := s.OpenPlayback(p.PCM)
	if err != nil {
		t.Fatalf("open playback %s: %v", p.PCM, err)
	}
	stop := time.AfterFunc(20*time.Second, func() { pb.Close() })
	frame := make([]int16, hw.FrameSamples)
	start := time.Now()
	const frames = 25
	for i := range frames {
		if err := pb.Write(frame); err != nil {
			t.Fatalf("write frame %d: %v", i, err)
		}
	}
	if el := time.Since(start); el < (frames-playbackRingFrames-8)*20*time.Millisecond {
		t.Fatalf("wrote %d frames in %v: not paced", frames, el)
	}
	stop.Stop()
	pb.Close()

	for _, tc := range []struct {
		name string
		set  func(bool) error
		want error
	}{
		{"busy", p.SetBusy, hw.ErrBusy},
		{"absent", p.SetAbsent, hw.ErrAbsent},
		{"denied", p.SetDenied, hw.ErrPermission},
	} {
		if err := tc.set(true); err != nil {
			t.Fatal(err)
		}
		c, err := s.OpenCapture(p.PCM)
		if err == nil {
			c.Close()
			t.Fatalf("%s: open succeeded", tc.name)
		}
		var de *hw.DeviceError
		if !errors.Is(err, tc.want) || !errors.As(err, &de) || de.Device != p.PCM {
			t.Fatalf("%s: open error %v, want a DeviceError of kind %v", tc.name, err, tc.want)
		}
		t.Logf("%s: %v", tc.name, err)
		if err := tc.set(false); err != nil {
			t.Fatal(err)
		}
		readSome() // the device opens again once the condition clears
	}
}
