package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/media/settings"

	"github.com/pion/rtp"

	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/codec/vp8rtp"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// VideoSender encodes a camera to VP8 RTP.
type VideoSender struct {
	cam   hw.Camera
	out   media.RTPWriter
	log   *slog.Logger
	conv  *frameConverter
	enc   *vp8.Encoder
	pk    *vp8rtp.Packetizer
	write func(*rtp.Packet) error // s.writePacket, bound once: a method value per frame would allocate
	buf   []byte

	// The RTP clock: capture times relative to the first frame's, on
	// 90 kHz, from a random origin (RFC 3550 §5.1).
	epoch   time.Time
	tsBase  uint32
	lastPTS int64
	started bool

	keyframe    atomic.Bool  // the next frame must be a keyframe
	maxBitrate  int          // the configured most, bit/s
	bitrate     atomic.Int64 // requested target, bit/s
	applied     int          // the encoder's target (Run's goroutine only)
	paused      atomic.Bool
	frames      atomic.Uint64
	keyframes   atomic.Uint64
	packets     atomic.Uint64
	bytes       atomic.Uint64
	dropped     atomic.Uint64
	totals      *media.Totals // the daemon's (Factory's), or the sender's own
	writeErrors atomic.Uint64
	encodeNanos atomic.Int64
	appliedRate atomic.Int64
}

// NewVideoSender prepares to send camera cam to out. log may be nil
// (slog.Default).
func NewVideoSender(cam hw.Camera, out media.RTPWriter, cfg settings.Video, log *slog.Logger) (*VideoSender, error) {
	if log == nil {
		log = slog.Default()
	}
	enc, err := vp8.NewEncoder(VideoEncoderParams(cfg))
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	pk, err := vp8rtp.NewPacketizer(vp8rtp.Params{
		SSRC:             rand.Uint32(),
		InitialSeq:       uint16(rand.Uint32()),
		InitialPictureID: uint16(rand.Uint32()),
	})
	if err != nil {
		_ = enc.Close()
		return nil, fmt.Errorf("media: %w", err)
	}
	s := &VideoSender{
		cam: cam, out: out, log: log, enc: enc, pk: pk, totals: new(media.Totals),
		conv:       newFrameConverter(cfg.Width, cfg.Height),
		buf:        make([]byte, vp8.MaxFrameBytes(cfg.Width, cfg.Height)),
		tsBase:     rand.Uint32(),
		applied:    cfg.Bitrate,
		maxBitrate: cfg.Bitrate,
	}
	s.write = s.writePacket
	s.bitrate.Store(int64(cfg.Bitrate))
	s.appliedRate.Store(int64(cfg.Bitrate))
	return s, nil
}

// RequestKeyframe makes the next frame a keyframe (a PLI or FIR from the
// room). Safe from any goroutine.
func (s *VideoSender) RequestKeyframe() { s.keyframe.Store(true) }

// SetBitrate sets the encoder's target from an estimate, clamped between
// settings.VideoMinBitrate and the configured bitrate; it takes effect at the
// next frame. Safe from any goroutine.
func (s *VideoSender) SetBitrate(bps int) {
	s.bitrate.Store(int64(clampVideoBitrate(bps, s.maxBitrate)))
}

// SetPaused turns video off (true) or on. While paused the camera is still
// drained, so it neither overruns nor stops, and nothing is sent; the
// first frame after a pause is a keyframe, since receivers may have
// dropped their state.
func (s *VideoSender) SetPaused(paused bool) {
	if s.paused.Swap(paused) && !paused {
		s.keyframe.Store(true)
	}
}

// Stats returns the counters so far.
func (s *VideoSender) Stats() media.OutboundStats {
	st := media.OutboundStats{
		Kind:             "video",
		FramesEncoded:    s.frames.Load(),
		KeyFramesEncoded: s.keyframes.Load(),
		PacketsSent:      s.packets.Load(),
		BytesSent:        s.bytes.Load(),
		TargetBitrate:    int(s.appliedRate.Load()),
		FramesDropped:    s.dropped.Load(),
		WriteErrors:      s.writeErrors.Load(),
	}
	if st.FramesEncoded > 0 {
		st.EncodeTimeAvgMs = float64(s.encodeNanos.Load()/int64(st.FramesEncoded)) / 1e6
	}
	return st
}

// Run captures, converts, encodes and sends frames, paced by the camera's
// ReadFrame, until ctx ends (nil) or the camera fails: then it returns the
// camera's error, which wraps the hw kind (errors.Is(err, hw.ErrAbsent)),
// so the caller can report the device lost. A damaged frame or a failed
// WriteRTP is counted and logged, never fatal; a pixel format the sender
// cannot convert is. Run closes nothing: the caller owns the camera.
func (s *VideoSender) Run(ctx context.Context) error {
	defer s.conv.close()
	defer s.enc.Close()
	for !ctxDone(ctx) {
		f, err := s.cam.ReadFrame()
		if err != nil {
			if ctxDone(ctx) {
				return nil
			}
			return fmt.Errorf("media: camera %q: %w", s.cam.Info().ID, err)
		}
		if s.paused.Load() {
			continue
		}
		if err := s.sendFrame(f); err != nil {
			return err
		}
	}
	return nil
}

// sendFrame converts, encodes and sends one camera frame. Only an
// unconvertible pixel format is returned.
func (s *VideoSender) sendFrame(f hw.VideoFrame) error {
	start := time.Now()
	img, err := s.conv.convert(f)
	if err != nil {
		if errors.Is(err, errVideoFormat) {
			return fmt.Errorf("media: camera %q: %w", s.cam.Info().ID, err)
		}
		s.drop("converting a camera frame failed", err)
		return nil
	}
	if want := int(s.bitrate.Load()); want != s.applied {
		if err := s.enc.SetBitrate(want); err != nil {
			s.log.Warn("setting the video bitrate failed", "bps", want, "err", err)
		}
		s.applied = want // not retried on failure: the next estimate will come
		s.appliedRate.Store(int64(want))
	}
	pts := s.pts(f.Captured)
	n, key, err := s.enc.Encode(s.buf, img, pts, s.keyframe.Swap(false))
	if err != nil {
		s.keyframe.Store(true) // the encoder's references moved on without the receiver
		s.drop("encoding a video frame failed", err)
		return nil
	}
	s.encodeNanos.Add(int64(time.Since(start)))
	s.frames.Add(1)
	if key {
		s.keyframes.Add(1)
	}
	// Write errors are counted in writePacket; the packetiser sees none.
	_ = s.pk.Packetize(s.buf[:n], s.tsBase+uint32(pts), s.write)
	return nil
}

// pts maps a capture time onto the 90 kHz clock from the first frame.
// It never goes backwards: libvpx's rate control needs increasing times,
// and a camera's timestamps can repeat after a driver hiccup.
func (s *VideoSender) pts(captured time.Time) int64 {
	if captured.IsZero() {
		captured = time.Now()
	}
	if !s.started {
		s.epoch, s.started = captured, true
		s.lastPTS = -1
	}
	pts := captured.Sub(s.epoch).Nanoseconds() * vp8.ClockRate / int64(time.Second)
	if pts <= s.lastPTS {
		pts = s.lastPTS + 1
	}
	s.lastPTS = pts
	return pts
}

func (s *VideoSender) writePacket(p *rtp.Packet) error {
	if err := s.out.WriteRTP(p); err != nil {
		if s.writeErrors.Add(1) == 1 {
			s.log.Warn("sending video failed; counting further failures", "err", err)
		}
		return nil // keep the frame's packet count honest for the receiver's loss stats
	}
	s.packets.Add(1)
	s.bytes.Add(uint64(len(p.Payload)))
	s.totals.Sent[media.Video].Packets.Add(1)
	s.totals.Sent[media.Video].Bytes.Add(uint64(len(p.Payload)))
	return nil
}

func (s *VideoSender) drop(msg string, err error) {
	s.totals.Sent[media.Video].FramesDropped.Add(1)
	if s.dropped.Add(1) == 1 {
		s.log.Warn(msg+"; counting further failures", "err", err)
	}
}
