package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/voipd/voipd/media/settings"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/codec/opusrtp"
	"github.com/voipd/voipd/hw"
)

func TestDTXSilenceIsSparseAndTimestampJumps(t *testing.T) {
	w := &countingWriter{keep: true}
	s, err := NewAudioSender(newToneCapture(0, false), w, testAudio(), 1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.pk = opusrtp.NewPacketizer(opusrtp.Params{SSRC: 5, InitialTimestamp: 1000, LevelExtID: 1})
	// frameOf maps each sent packet to the frame it came from.
	var frameOf []int
	send := func(frame int, freq float64) {
		if freq > 0 {
			dsp.Sine(s.pcm[:], freq, hw.SampleRate, 8000, 0)
		} else {
			clear(s.pcm[:])
		}
		before := len(w.headers)
		if err := s.sendFrame(); err != nil {
			t.Fatal(err)
		}
		if len(w.headers) > before {
			frameOf = append(frameOf, frame)
		}
	}
	for f := range 10 {
		send(f, 440)
	}
	for f := 10; f < 110; f++ { // 2 s of silence
		send(f, 0)
	}
	silent := len(frameOf) - 10
	for f := 110; f < 115; f++ {
		send(f, 440)
	}
	// libopus needs ~10 frames to enter DTX, then sends an update every
	// 400 ms: far fewer than the 100 frames of silence.
	if silent > 25 {
		t.Errorf("%d packets during 100 frames of silence, want DTX to suppress most", silent)
	}
	// The first packet of the resumed tone: marker set, timestamp = its
	// frame × 960, sequence one past the previous packet.
	i := len(frameOf) - 5
	h, prev := w.headers[i], w.headers[i-1]
	if frameOf[i] != 110 || !h.Marker {
		t.Fatalf("resume packet from frame %d marker %v, want frame 110 with marker", frameOf[i], h.Marker)
	}
	if want := uint32(1000 + 110*960); h.Timestamp != want {
		t.Errorf("resume timestamp %d, want %d (jumped %d frames)", h.Timestamp, want, frameOf[i]-frameOf[i-1])
	}
	if h.SequenceNumber != prev.SequenceNumber+1 {
		t.Errorf("sequence %d after %d: DTX must not skip sequence numbers", h.SequenceNumber, prev.SequenceNumber)
	}
	if got := s.Stats().PacketsSent; got != uint64(len(frameOf)) {
		t.Errorf("PacketsSent %d, want %d", got, len(frameOf))
	}
}

func TestDisableDTXSendsEveryFrame(t *testing.T) {
	w := &countingWriter{}
	s, err := NewAudioSender(newToneCapture(0, false), w, testAudio(func(c *settings.Audio) { c.DTX = false }), 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 60 {
		if err := s.sendFrame(); err != nil {
			t.Fatal(err)
		}
	}
	if w.n != 60 {
		t.Errorf("%d packets for 60 silent frames with DTX off, want 60", w.n)
	}
}

func TestSenderRunEnds(t *testing.T) {
	tests := []struct {
		name    string
		fail    error
		wantErr error
	}{
		{"context ends", nil, nil},
		{"device lost", &hw.DeviceError{Op: "read", Device: "mic", Kind: hw.ErrAbsent}, hw.ErrAbsent},
		{"device closed", &hw.DeviceError{Op: "read", Device: "mic", Kind: hw.ErrClosed}, hw.ErrClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newToneCapture(440, true)
			defer c.Close()
			s, err := NewAudioSender(c, &countingWriter{}, testAudio(), 1, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			waitFor(t, "packets sent", func() bool { return s.Stats().PacketsSent >= 3 })
			if tc.fail != nil {
				c.failWith(tc.fail)
			} else {
				cancel()
			}
			err = <-done
			if tc.wantErr == nil && err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			if tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || hw.Kind(err) != tc.wantErr) {
				t.Fatalf("Run = %v, want kind %v", err, tc.wantErr)
			}
		})
	}
}

// waitFor polls cond every 10 ms for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
