package pipeline

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/voipd/voipd/media/settings"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/codec/opus"
	"github.com/voipd/voipd/codec/opusrtp"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// newSendPath is a sender with a 440 Hz frame ready in its buffer, writing
// to a writer that marshals into a reused buffer as pion's WriteRTP does.
func newSendPath(tb testing.TB) (*AudioSender, *countingWriter) {
	return newSendPathCfg(tb, testAudio())
}

func newSendPathCfg(tb testing.TB, cfg settings.Audio) (*AudioSender, *countingWriter) {
	w := &countingWriter{}
	s, err := NewAudioSender(newToneCapture(440, false), w, cfg, levelExt, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	dsp.Sine(s.pcm[:s.frame], 440, hw.SampleRate, 8000, 0)
	return s, w
}

// receivePath is a receiver with members whose datagrams the test feeds
// straight to receive (their pipes stay empty, so the read goroutines
// just wait), advancing sequence number and timestamp each frame.
type receivePath struct {
	recv    *AudioReceiver
	members []*inbound
	pipes   []*rtpPipe
	dgram   []byte
	seq     uint16
	ts      uint32
	tick    time.Duration
}

func newReceivePath(tb testing.TB, members int) *receivePath {
	return newReceivePathCfg(tb, members, testAudio())
}

// newReceivePathCfg's receiver mixes frames of cfg.FrameMs; the datagrams
// stay 20 ms packets, as a browser sends.
func newReceivePathCfg(tb testing.TB, members int, cfg settings.Audio) *receivePath {
	recv := NewAudioReceiver(newRecordPlayback(), cfg, levelExt, nil, nil)
	rp := &receivePath{recv: recv}
	for i := range members {
		pipe := newRTPPipe(uint64(i), 0, 0)
		rp.pipes = append(rp.pipes, pipe)
		recv.AddMember(string(rune('a'+i)), pipe)
	}
	rp.members = *recv.members.Load()
	tb.Cleanup(func() {
		for _, p := range rp.pipes {
			p.Close()
		}
	})
	// One real Opus frame of a tone, in an RTP datagram with the level.
	enc, err := opus.NewEncoder(func() opus.EncoderParams { p := opus.DefaultEncoderParams(); p.DTX = false; return p }())
	if err != nil {
		tb.Fatal(err)
	}
	pcm := make([]int16, hw.FrameSamples)
	dsp.Sine(pcm, 440, hw.SampleRate, 8000, 0)
	buf := make([]byte, opus.MaxPacketBytes)
	n, err := enc.Encode(buf, pcm)
	if err != nil {
		tb.Fatal(err)
	}
	pkt := opusrtp.NewPacketizer(opusrtp.Params{SSRC: 3, LevelExtID: levelExt}).Packetize(buf[:n], hw.FrameSamples, 15, true)
	if rp.dgram, err = pkt.Marshal(); err != nil {
		tb.Fatal(err)
	}
	return rp
}

// frame pushes one datagram to every member and mixes one 20 ms frame.
func (rp *receivePath) frame() {
	binary.BigEndian.PutUint16(rp.dgram[2:], rp.seq)
	binary.BigEndian.PutUint32(rp.dgram[4:], rp.ts)
	rp.seq++
	rp.ts += hw.FrameSamples
	rp.tick += 20 * time.Millisecond
	for _, m := range rp.members {
		m.receive(rp.dgram, rp.tick)
	}
	rp.recv.mixOnce()
}

func TestSendPathDoesNotAllocate(t *testing.T) {
	for _, ms := range []int{20, 10} {
		t.Run(fmt.Sprintf("%d ms", ms), func(t *testing.T) { testSendPathAllocs(t, ms) })
	}
}

func testSendPathAllocs(t *testing.T, ms int) {
	s, w := newSendPathCfg(t, testAudio(func(c *settings.Audio) { c.FrameMs = ms }))
	allocs := testing.AllocsPerRun(200, func() {
		if err := s.sendFrame(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("encode+packetise+WriteRTP: %v allocs per frame, want 0", allocs)
	}
	if w.n < 200 {
		t.Errorf("only %d packets written", w.n)
	}
}

func TestReceivePathDoesNotAllocate(t *testing.T) {
	rp := newReceivePath(t, 2)
	for range 5 { // past the initial buffering
		rp.frame()
	}
	allocs := testing.AllocsPerRun(200, rp.frame)
	if allocs != 0 {
		t.Errorf("push+pull+decode+mix: %v allocs per frame, want 0", allocs)
	}
	stats := make([]media.InboundStats, 0, 4)
	if a := testing.AllocsPerRun(10, func() { stats = rp.recv.AppendStats(stats[:0]) }); a != 0 {
		t.Errorf("AppendStats: %v allocs, want 0", a)
	}
	if st := stats[0]; st.FramesDecoded < 200 || st.FramesConcealed != 0 || st.AudioLevel < 0.1 {
		t.Errorf("stats %+v", st)
	}
	if p := dsp.Goertzel(rp.recv.out, 440, hw.SampleRate); p < 1e6 {
		t.Errorf("mix has 440 Hz power %.3g, want the tone", p)
	}
}

// TestReceivePath10msDoesNotAllocate: 20 ms packets (a browser's) mixed
// into 10 ms frames: each packet plays over two frames, without allocating.
func TestReceivePath10msDoesNotAllocate(t *testing.T) {
	rp := newReceivePathCfg(t, 2, testAudio(func(c *settings.Audio) { c.FrameMs, c.JitterMinMs = 10, 10 }))
	two := func() { rp.frame(); rp.recv.mixOnce() } // one packet, two frames
	for range 5 {
		two()
	}
	if a := testing.AllocsPerRun(200, two); a != 0 {
		t.Errorf("push+pull+decode+mix of 10 ms frames: %v allocs per packet, want 0", a)
	}
	st := rp.recv.AppendStats(nil)[0]
	if st.FramesDecoded < 200 || st.FramesConcealed != 0 || st.TargetDelayMs != 20 {
		t.Errorf("stats %+v", st)
	}
	if p := dsp.Goertzel(rp.recv.out, 440, hw.SampleRate); p < 1e5 || len(rp.recv.out) != 480 {
		t.Errorf("mix of %d samples has 440 Hz power %.3g, want 480 and the tone", len(rp.recv.out), p)
	}
}

// TestVolumeOnTheFramePaths: the capture gain scales the frame before it
// is measured and encoded, the playback gain the mix before the speaker,
// and neither allocates.
func TestVolumeOnTheFramePaths(t *testing.T) {
	vol := media.NewVolume()
	vol.SetCapture(0.5)
	s, _ := newSendPath(t)
	s.vol = vol
	peak := func(pcm []int16) (p int16) {
		for _, v := range pcm {
			p = max(p, v)
		}
		return p
	}
	before := peak(s.pcm[:s.frame])
	if err := s.sendFrame(); err != nil {
		t.Fatal(err)
	}
	if after := peak(s.pcm[:s.frame]); after != before/2 && after != before/2-1 {
		t.Fatalf("capture gain 0.5: peak %d → %d", before, after)
	}
	if a := testing.AllocsPerRun(100, func() { s.sendFrame() }); a != 0 {
		t.Errorf("send path with a capture gain: %v allocs per frame", a)
	}

	rp := newReceivePath(t, 1)
	for range 10 {
		rp.frame()
	}
	full := dsp.Goertzel(rp.recv.out, 440, hw.SampleRate)
	vol.SetPlayback(0.25)
	rp.recv.vol = vol
	if a := testing.AllocsPerRun(100, rp.frame); a != 0 {
		t.Errorf("receive path with a playback gain: %v allocs per frame", a)
	}
	if quiet := dsp.Goertzel(rp.recv.out, 440, hw.SampleRate); quiet > full/10 || quiet < full/25 {
		t.Errorf("playback gain 0.25: 440 Hz power %.3g → %.3g, want about 1/16", full, quiet)
	}
}
