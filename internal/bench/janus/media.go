package janus

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// The publisher's media: Opus-sized audio packets every 20 ms and VP8
// frames of videoBitrate/videoFPS bytes, split into packets of at most
// videoChunk bytes. The payloads are filler behind valid VP8 payload
// descriptors and frame tags: both servers forward without decoding.
const (
	audioInterval = 20 * time.Millisecond
	audioBytes    = 80 // 32 kbit/s
	videoFPS      = 30
	videoBitrate  = 800_000
	videoChunk    = 1200
)

// Publisher paces the publisher's packets onto its two tracks and counts
// what it sent.
type Publisher struct {
	audio, video *webrtc.TrackLocalStaticRTP
	sent         atomic.Uint64
	keyframe     atomic.Bool // a PLI or FIR came: the next frame is a keyframe
}

// NewPublisher sends on the given tracks once Run is called.
func NewPublisher(audio, video *webrtc.TrackLocalStaticRTP) *Publisher {
	p := &Publisher{audio: audio, video: video}
	p.keyframe.Store(true)
	return p
}

// Sent is the packets sent so far, audio and video.
func (p *Publisher) Sent() uint64 { return p.sent.Load() }

// ReadRTCP reads a video sender's RTCP until it errs (pion's NACK responder
// runs in that read) and turns keyframe requests into keyframes.
func (p *Publisher) ReadRTCP(s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.keyframe.Store(true)
			}
		}
	}
}

// Run sends until ctx ends.
func (p *Publisher) Run(ctx context.Context) {
	at := time.NewTicker(audioInterval)
	defer at.Stop()
	vt := time.NewTicker(time.Second / videoFPS)
	defer vt.Stop()
	filler := make([]byte, videoChunk+16)
	for i := range filler {
		filler[i] = byte(rand.Uint32())
	}
	audio := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32()}}
	video := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(rand.Uint32()), Timestamp: rand.Uint32()}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-at.C:
			audio.SequenceNumber++
			audio.Timestamp += 960
			audio.Payload = filler[:audioBytes]
			audio.Payload[0] = 0xfc // TOC: CELT fullband 20 ms, one frame
			if p.audio.WriteRTP(audio) == nil {
				p.sent.Add(1)
			}
		case <-vt.C:
			video.Timestamp += 90000 / videoFPS
			p.sendFrame(video, filler)
		}
	}
}

// sendFrame sends one frame's packets, the marker on the last.
func (p *Publisher) sendFrame(pkt *rtp.Packet, filler []byte) {
	key := p.keyframe.Swap(false)
	left := videoBitrate / 8 / videoFPS
	first := true
	for left > 0 {
		n := min(left, videoChunk)
		left -= n
		pkt.SequenceNumber++
		pkt.Marker = left == 0
		pay := filler[:n+1]
		pay[0] = 0x00 // VP8 payload descriptor: no extensions, not a start
		if first {
			pay[0] = 0x10 // S: the frame's first partition starts here
			vp8FrameTag(pay[1:], key, n)
		}
		pkt.Payload = pay
		if err := p.video.WriteRTP(pkt); err == nil {
			p.sent.Add(1)
		}
		first = false
	}
}

// vp8FrameTag writes an RFC 6386 frame tag (and, for a keyframe, the start
// code and a 640×480 size) at the start of b.
func vp8FrameTag(b []byte, key bool, size int) {
	tag := uint32(size)<<5 | 1<<4 // first_part_size, show_frame; version 0
	if !key {
		tag |= 1 // inter frame
	}
	b[0], b[1], b[2] = byte(tag), byte(tag>>8), byte(tag>>16)
	if key {
		copy(b[3:], []byte{0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01})
	}
}

// Sinks counts the packets every subscriber receives.
type Sinks struct {
	received atomic.Uint64
	tracks   atomic.Int64 // tracks being read now
}

// Received is the packets received so far by all sinks.
func (s *Sinks) Received() uint64 { return s.received.Load() }

// Drain reads t until it ends, counting packets; nothing is decoded.
func (s *Sinks) Drain(t *webrtc.TrackRemote) {
	s.tracks.Add(1)
	defer s.tracks.Add(-1)
	buf := make([]byte, 1500)
	for {
		if _, _, err := t.Read(buf); err != nil {
			return // io.EOF: the track ended (renegotiation, leave)
		}
		s.received.Add(1)
	}
}

// DrainRTCP reads a receiver's RTCP until it errs, so that pion's
// interceptors (receiver reports, NACK) run as in a real client.
func DrainRTCP(r *webrtc.RTPReceiver) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := r.Read(buf); err != nil {
			return
		}
	}
}
