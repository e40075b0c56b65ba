package main

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/media/pipeline"
)

// audio.frameMs = 10 end to end: two daemons on a real roomd, with the
// package media pipelines the daemon builds from its config. One node of
// each test is tapped (tapMedia): the same pipeline, with the RTP it sends
// and receives read on the way through, so the Opus frame size and the RTP
// timestamp step of every packet can be checked without any clock.

// frame10 is the 10 ms configuration README.md recommends.
func frame10(c *config.Config) { c.Audio.FrameMs, c.Audio.JitterMinMs = 10, 10 }

// TestFrame10TwoDaemonsTalk: both daemons at 10 ms hear each other's tone,
// continuously; every packet either sends is one 10 ms Opus frame whose RTP
// timestamp advances 480 samples, and about 100 go out a second.
func TestFrame10TwoDaemonsTalk(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	a := startNode(t, "door-a", url, secret, 440, frame10)
	tap := &rtpTap{}
	b := startNodeWith(t, "door-b", url, secret, 1000, frame10, tap.install(t))
	joinBoth(t, a, b, "lobby10")

	eventually(t, 15*time.Second, "a hears b's 1000 Hz", func() bool { return a.audio.heard(1000, 440) > 20 })
	eventually(t, 15*time.Second, "b hears a's 440 Hz", func() bool { return b.audio.heard(440, 1000) > 20 })
	// A receiver that played a part of each packet would still let the tone
	// through; its gaps show as quiet stretches.
	eventually(t, 15*time.Second, "a plays b without gaps", func() bool { return quietShare(a.audio) < 0.1 })
	eventually(t, 15*time.Second, "b plays a without gaps", func() bool { return quietShare(b.audio) < 0.1 })
	checkInbound(t, a, "door-b")
	checkInbound(t, b, "door-a")

	// The packet rate over a few seconds: 10 ms frames make about 100 a
	// second; 20 ms frames could not make more than 50 (the tone paces the
	// sender in real time). The margins are wide: only the frame size is
	// judged, not the machine's speed.
	rate := sendRate(t, 3*time.Second, a)[0]
	t.Logf("a sent %.1f packets/s", rate)
	if rate < 65 || rate > 150 {
		t.Errorf("a sends %.1f packets a second; 10 ms frames make 100", rate)
	}

	// b's own packets and a's as they reached b: 10 ms each, 480 apart.
	tap.check(t, "b sent", "", 10)
	tap.check(t, "b received from a", "door-a", 10)

	a.ctl.mustOK("exitVoIPChat", nil)
	b.ctl.mustOK("exitVoIPChat", nil)
}

// TestFrame10MixedCall: a daemon at 10 ms and one at the default 20 ms hear
// each other; each sends its own frame size (the 10 ms one twice as many
// packets), and each plays the other's without gaps.
func TestFrame10MixedCall(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	a := startNode(t, "door-a", url, secret, 440, frame10)
	tap := &rtpTap{}
	b := startNodeWith(t, "door-b", url, secret, 1000, nil, tap.install(t))
	if b.cfg.Audio.FrameMs != 20 {
		t.Fatalf("b's frameMs %d, want the default 20", b.cfg.Audio.FrameMs)
	}
	joinBoth(t, a, b, "mixed")

	// a plays 20 ms packets over two 10 ms frames; b 10 ms packets, two to
	// a 20 ms frame.
	eventually(t, 15*time.Second, "a (10 ms) hears b's (20 ms) 1000 Hz", func() bool { return a.audio.heard(1000, 440) > 20 })
	eventually(t, 15*time.Second, "b (20 ms) hears a's (10 ms) 440 Hz", func() bool { return b.audio.heard(440, 1000) > 20 })
	eventually(t, 15*time.Second, "a plays b without gaps", func() bool { return quietShare(a.audio) < 0.1 })
	eventually(t, 15*time.Second, "b plays a without gaps", func() bool { return quietShare(b.audio) < 0.1 })
	checkInbound(t, a, "door-b")
	checkInbound(t, b, "door-a")

	// Over the same seconds a sends about twice b's packets.
	r := sendRate(t, 3*time.Second, a, b)
	t.Logf("a (10 ms) sent %.1f packets/s, b (20 ms) %.1f", r[0], r[1])
	if r[1] <= 0 || r[0]/r[1] < 1.5 || r[0]/r[1] > 2.6 {
		t.Errorf("a (10 ms) sent %.1f packets/s, b (20 ms) %.1f: want a ratio of about 2", r[0], r[1])
	}

	tap.check(t, "b sent", "", 20)
	tap.check(t, "b received from a", "door-a", 10)

	a.ctl.mustOK("exitVoIPChat", nil)
	b.ctl.mustOK("exitVoIPChat", nil)
}

// joinBoth has a and then b join voice room g and waits until a sees both.
func joinBoth(t *testing.T, a, b *node, g string) {
	t.Helper()
	a.ctl.mustOK("subscribe", map[string]any{"events": []string{"onVoIPChatMembersChanged"}})
	a.ctl.mustOK("joinVoIPChat", a.joinParams(g))
	rb := b.ctl.mustOK("joinVoIPChat", b.joinParams(g))
	got := strList(rb["openIdList"])
	slices.Sort(got)
	if !slices.Equal(got, []string{a.openid, b.openid}) {
		t.Fatalf("b's openIdList = %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a.ctl.waitEvent(ctx, "onVoIPChatMembersChanged", func(p map[string]any) bool { return len(strList(p["openIdList"])) == 2 })
}

// checkInbound: n's getStats shows member's audio arriving, decoded and
// audible.
func checkInbound(t *testing.T, n *node, member string) {
	t.Helper()
	// The stats catch up with what the speaker already played: a tone is
	// heard from its first decoded frame, while the level is measured over
	// frames still to come. So wait for them, and show the last stats.
	var last any = "no getStats answer yet"
	deadline := time.Now().Add(20 * time.Second)
	for {
		stats := n.ctl.mustOK("getStats", nil)
		last = stats["inbound"]
		if s := inboundAudio(stats, member); s != nil {
			last = s
			recv, _ := s["packetsReceived"].(float64)
			dec, _ := s["framesDecoded"].(float64)
			level, _ := s["audioLevel"].(float64)
			if recv > 0 && dec > 0 && level > 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Errorf("%s's inbound audio from %s, after 20 s: %v", n.openid, member, last)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// inboundAudio is getStats' inbound audio entry of member, or nil.
func inboundAudio(stats map[string]any, member string) map[string]any {
	in, _ := stats["inbound"].([]any)
	for _, x := range in {
		if s, _ := x.(map[string]any); s["member"] == member && s["kind"] == "audio" {
			return s
		}
	}
	return nil
}

// sendRate returns the packets each node sent per second over d (measured
// between two getStats, so the interval is d plus a little).
func sendRate(t *testing.T, d time.Duration, nodes ...*node) []float64 {
	t.Helper()
	before := make([]float64, len(nodes))
	t0 := time.Now()
	for i, n := range nodes {
		before[i] = packetsSent(t, n)
	}
	time.Sleep(d)
	rates := make([]float64, len(nodes))
	for i, n := range nodes {
		rates[i] = packetsSent(t, n) - before[i]
	}
	secs := time.Since(t0).Seconds()
	for i := range rates {
		rates[i] /= secs
	}
	return rates
}

// quietShare is the share of 5 ms stretches in the last 500 ms a node
// played that are much quieter than the loudest: 0 for a steady tone.
func quietShare(a *testAudio) float64 {
	a.mu.Lock()
	rec := a.rec
	a.mu.Unlock()
	if rec == nil {
		return 1
	}
	pcm := rec.Snapshot(nil)
	const chunk = 5 * hw.SamplesPerMs
	var rms []float64
	for i := 0; i+chunk <= len(pcm); i += chunk {
		rms = append(rms, dsp.RMS(pcm[i:i+chunk]))
	}
	if len(rms) == 0 {
		return 1
	}
	loudest := slices.Max(rms)
	if loudest == 0 {
		return 1
	}
	quiet := 0
	for _, r := range rms {
		if r < loudest/4 {
			quiet++
		}
	}
	return float64(quiet) / float64(len(rms))
}

// rtpTap records what one node's audio pipeline sends (member "") and
// receives from each member: sequence number, RTP timestamp and the Opus
// duration from the payload's TOC byte (RFC 6716 §3.1).
type rtpTap struct {
	mu   sync.Mutex
	pkts map[string][]tapPkt
}

type tapPkt struct {
	seq uint16
	ts  uint32
	ms  float64 // 0: no Opus TOC to read
}

// tapKeep bounds what a tap keeps of one stream (the first packets).
const tapKeep = 4000

func (p *rtpTap) add(member string, h *rtp.Header, payload []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pkts == nil {
		p.pkts = map[string][]tapPkt{}
	}
	if len(p.pkts[member]) < tapKeep {
		p.pkts[member] = append(p.pkts[member], tapPkt{h.SequenceNumber, h.Timestamp, opusMs(payload)})
	}
}

// check: the stream of member ("" for sent) holds enough packets, each of
// one Opus frame of ms, and packets next in sequence are ms apart in RTP
// time (48 samples a millisecond).
func (p *rtpTap) check(t *testing.T, what, member string, ms float64) {
	t.Helper()
	p.mu.Lock()
	pkts := slices.Clone(p.pkts[member])
	p.mu.Unlock()
	if len(pkts) < 100 {
		t.Fatalf("%s: %d packets, want at least 100", what, len(pkts))
	}
	wrong, steps := 0, 0
	for i, k := range pkts {
		if k.ms != ms {
			if wrong++; wrong <= 3 {
				t.Errorf("%s: packet %d (seq %d) holds %g ms of Opus, want %g", what, i, k.seq, k.ms, ms)
			}
		}
		if i == 0 || k.seq != pkts[i-1].seq+1 {
			continue
		}
		steps++
		if d := k.ts - pkts[i-1].ts; d != uint32(ms*hw.SamplesPerMs) {
			if wrong++; wrong <= 3 {
				t.Errorf("%s: seq %d is %d samples after seq %d, want %d", what, k.seq, d, pkts[i-1].seq, uint32(ms*hw.SamplesPerMs))
			}
		}
	}
	if steps < len(pkts)/2 {
		t.Errorf("%s: only %d of %d packets follow their predecessor in sequence", what, steps, len(pkts))
	}
	if wrong > 0 {
		t.Errorf("%s: %d faults in %d packets", what, wrong, len(pkts))
	}
}

// opusMs is the audio duration of one Opus packet from its TOC byte and
// frame count (RFC 6716 §3.1, §3.2.5), or 0 if it has none.
func opusMs(pkt []byte) float64 {
	if len(pkt) == 0 {
		return 0
	}
	cfg := pkt[0] >> 3
	var frame float64
	switch {
	case cfg < 12: // SILK-only
		frame = []float64{10, 20, 40, 60}[cfg&3]
	case cfg < 16: // hybrid
		frame = []float64{10, 20}[cfg&1]
	default: // CELT-only
		frame = []float64{2.5, 5, 10, 20}[cfg&3]
	}
	switch pkt[0] & 3 {
	case 0:
		return frame
	case 1, 2:
		return 2 * frame
	default:
		if len(pkt) < 2 {
			return 0
		}
		return float64(pkt[1]&0x3f) * frame
	}
}

// install returns a startNodeWith prep that gives the node the media
// pipelines voipd builds from its config (pipeline.NewFactory), wrapped so
// the tap sees every packet.
func (p *rtpTap) install(t *testing.T) func(*node) {
	return func(n *node) {
		n.media = tapMedia{Factory: pipeline.NewFactory(n.cfg.AudioSettings(), n.cfg.VideoSettings(), quietLogger(t), nil), tap: p}
	}
}

type tapMedia struct {
	media.Factory
	tap *rtpTap
}

func (m tapMedia) NewCall(p media.CallParams) (media.Call, error) {
	p.Out = tapWriter{RTPWriter: p.Out, tap: m.tap}
	call, err := m.Factory.NewCall(p)
	if err != nil {
		return nil, err
	}
	return tapCall{Call: call, tap: m.tap}, nil
}

type tapWriter struct {
	media.RTPWriter
	tap *rtpTap
}

func (w tapWriter) WriteRTP(pkt *rtp.Packet) error {
	w.tap.add("", &pkt.Header, pkt.Payload)
	return w.RTPWriter.WriteRTP(pkt)
}

type tapCall struct {
	media.Call
	tap *rtpTap
}

func (c tapCall) AddMember(member string, src media.RTPReader) {
	c.Call.AddMember(member, tapReader{RTPReader: src, member: member, tap: c.tap})
}

type tapReader struct {
	media.RTPReader
	member string
	tap    *rtpTap
}

func (r tapReader) Read(b []byte) (int, interceptor.Attributes, error) {
	n, attr, err := r.RTPReader.Read(b)
	if err == nil {
		var pkt rtp.Packet
		if pkt.Unmarshal(b[:n]) == nil {
			r.tap.add(r.member, &pkt.Header, pkt.Payload)
		}
	}
	return n, attr, err
}
