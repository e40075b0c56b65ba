package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/voipd/voipd/media/settings"

	"github.com/voipd/voipd/codec/dsp"
	"github.com/voipd/voipd/codec/opus"
	"github.com/voipd/voipd/codec/opusrtp"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
)

// voiceDBov: frames louder than -50 dBov carry the RFC 6464 V bit. voipd
// has no VAD of its own; a level gate is what the extension's receivers
// (speaker events) need.
const voiceDBov = 50

// AudioSender encodes a microphone to Opus RTP.
type AudioSender struct {
	c   hw.Capture
	out media.RTPWriter
	vol *media.Volume
	log *slog.Logger
	enc *opus.Encoder
	pk  *opusrtp.Packetizer
	dtx bool

	frame int                    // samples per frame (settings.Audio.FrameMs)
	pcm   [hw.FrameSamples]int16 // the longest frame; pcm[:frame] is used
	buf   [opus.MaxPacketBytes]byte

	// lost, when set, hears that the capture failed; Run then waits for
	// the next one on swap (SetCapture) instead of returning.
	lost func(error)
	swap chan hw.Capture

	proc *processing // hands-free processing, nil when none; set before Run
	over underruns   // the microphone's overruns (its DropCounter), for proc

	// afterFrame, when set, runs on Run's goroutine after each captured
	// frame (muted too): the call's receiver topping up the speaker from
	// this wakeup (AudioReceiver.topUp). Set before Run.
	afterFrame func()

	// Expected loss: the encoder's FEC is sized for lossTarget percent,
	// set from receivers' reports (SetUplinkLoss) and applied by Run.
	lossFloor, lossApplied int          // the configured loss (the least), and the encoder's
	lossTarget             atomic.Int32 // what reports ask for
	lossMu                 sync.Mutex
	lossSmooth             float64 // smoothed fraction lost; -1 before a report

	muted       atomic.Bool
	packets     atomic.Uint64
	bytes       atomic.Uint64
	totals      *media.Totals // the daemon's (Factory's), or the sender's own
	level       atomic.Uint64 // float64 bits
	loud        bool          // Run's: level is above watch's threshold
	watch       *levelWatch   // nil: none; set before Run
	writeErrors atomic.Uint64
}

// NewAudioSender prepares to send capture c to out, scaled by vol's
// capture gain (nil: unity). levelExtID is the negotiated id of the RFC
// 6464 audio level extension (0: none). log may be nil (slog.Default).
func NewAudioSender(c hw.Capture, out media.RTPWriter, cfg settings.Audio, levelExtID uint8, vol *media.Volume, log *slog.Logger) (*AudioSender, error) {
	if log == nil {
		log = slog.Default()
	}
	enc, err := opus.NewEncoder(encoderParams(cfg))
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	// Random SSRC, sequence and timestamp origins (RFC 3550 §5.1);
	// pion's track rewrites the SSRC to the negotiated one.
	pk := opusrtp.NewPacketizer(opusrtp.Params{
		SSRC:             rand.Uint32(),
		InitialSeq:       uint16(rand.Uint32()),
		InitialTimestamp: rand.Uint32(),
		LevelExtID:       levelExtID,
	})
	s := &AudioSender{c: c, out: out, vol: vol, log: log, enc: enc, pk: pk, dtx: cfg.DTX, frame: cfg.FrameSamples(), swap: make(chan hw.Capture, 1), totals: new(media.Totals),
		lossFloor: cfg.PacketLossPerc, lossApplied: cfg.PacketLossPerc, lossSmooth: -1}
	s.lossTarget.Store(int32(cfg.PacketLossPerc))
	return s, nil
}

// The expected loss follows the reports: smoothed over a few of them
// (about one a second), rounded up to lossStep so a wavering rate does not
// retune the encoder every report, never under the configured loss nor
// above maxExpectedLoss (past that, FEC costs more than it saves).
const (
	lossSmoothing   = 0.3
	lossStep        = 5
	maxExpectedLoss = 50
)

// SetUplinkLoss hears the fraction (0..1) of this stream a receiver report
// says was lost (RFC 3550 §6.4.1's fraction lost, /256), and sets the loss
// the encoder's in-band FEC is sized for from it, as libwebrtc does from
// the same reports. Safe from any goroutine; Run applies it before the
// next frame.
func (s *AudioSender) SetUplinkLoss(fraction float64) {
	s.lossMu.Lock()
	if s.lossSmooth < 0 {
		s.lossSmooth = fraction
	} else {
		s.lossSmooth += lossSmoothing * (fraction - s.lossSmooth)
	}
	pct := int(math.Ceil(s.lossSmooth*100/lossStep-1e-9)) * lossStep
	s.lossMu.Unlock()
	s.lossTarget.Store(int32(min(max(pct, s.lossFloor), maxExpectedLoss)))
}

// applyLoss gives the encoder the expected loss reports asked for, if it
// changed. Run's goroutine only (the encoder is not safe for concurrent
// use).
func (s *AudioSender) applyLoss() {
	t := int(s.lossTarget.Load())
	if t == s.lossApplied {
		return
	}
	if err := s.enc.SetPacketLossPerc(t); err != nil {
		s.log.Warn("setting the expected loss", "percent", t, "err", err)
	}
	s.lossApplied = t
	s.log.Debug("expected loss", "percent", t)
}

// OnLost makes Run go on when the capture fails: fn hears the error (on
// Run's goroutine) and Run waits for SetCapture. Call before Run.
func (s *AudioSender) OnLost(fn func(error)) { s.lost = fn }

// SetCapture hands Run a new capture after a loss (a later one replaces an
// earlier one not yet taken).
func (s *AudioSender) SetCapture(c hw.Capture) {
	select {
	case <-s.swap:
	default:
	}
	s.swap <- c
}

// SetMuted mutes the microphone: the device is still drained (so it
// neither overruns nor stops), nothing is sent, and timestamps keep
// counting so the receiver sees the pause.
func (s *AudioSender) SetMuted(muted bool) {
	if s.muted.Swap(muted) != muted {
		s.watch.poke()
	}
}

// Stats returns the counters so far.
func (s *AudioSender) Stats() media.OutboundStats {
	return media.OutboundStats{
		Kind:        "audio",
		PacketsSent: s.packets.Load(),
		BytesSent:   s.bytes.Load(),
		AudioLevel:  math.Float64frombits(s.level.Load()),
		WriteErrors: s.writeErrors.Load(),
		// Read from Stats' goroutine: the target, which Run applies at
		// the next frame.
		ExpectedLossPerc: int(s.lossTarget.Load()),
	}
}

// Run captures, encodes and sends frames (20 or 10 ms), paced by c.Read, until ctx
// ends (nil) or the device fails: then it returns the capture's error,
// which wraps the hw kind (errors.Is(err, hw.ErrAbsent), ...), so the
// caller can report the device lost. A failing WriteRTP (the network) is
// counted and logged, never fatal: the room layer owns the connection.
func (s *AudioSender) Run(ctx context.Context) error {
	for !ctxDone(ctx) {
		if err := s.c.Read(s.pcm[:s.frame]); err != nil {
			if ctxDone(ctx) {
				return nil
			}
			err = fmt.Errorf("media: capture %q: %w", s.c.Info().ID, err)
			if s.lost == nil {
				return err
			}
			// Nothing is sent until a capture is back (receivers conceal,
			// then hear silence).
			s.lost(err)
			lost := time.Now()
			select {
			case s.c = <-s.swap:
				s.over = underruns{}
				if s.proc != nil {
					s.proc.micClock.restart()
					s.proc.reset("the microphone was reopened")
				}
				// The RTP clock runs on through the gap, as it does for
				// muted frames: the next packet starts a talkspurt whose
				// timestamp matches the time it was captured, so receivers
				// do not take the gap for network delay.
				s.pk.Skip(int(time.Since(lost) / time.Millisecond * hw.SampleRate / 1000))
				continue
			case <-ctx.Done():
				return nil
			}
		}
		if s.proc != nil {
			// Before the gain: the canceller sees the echo as the room
			// made it, and muted frames keep it adapted.
			s.proc.capture(s.pcm[:s.frame], s.c)
			if s.over.burst(s.c, time.Now()) {
				s.proc.resetBurst("a burst of microphone overruns")
			}
		}
		s.applyLoss()
		if err := s.sendFrame(); err != nil {
			return err
		}
		if s.afterFrame != nil {
			s.afterFrame()
		}
	}
	return nil
}

// sendFrame scales, encodes and sends the frame in s.pcm. Only encoder
// failures are returned.
func (s *AudioSender) sendFrame() error {
	pcm := s.pcm[:s.frame]
	s.vol.ApplyCapture(pcm)
	dbov := dsp.LevelDBov(pcm)
	s.watch.store(&s.level, &s.loud, dsp.DBovToLinear(dbov))
	if s.muted.Load() {
		s.pk.Skip(s.frame)
		return nil
	}
	n, err := s.enc.Encode(s.buf[:], pcm)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	// In DTX libopus emits 1–2 byte frames that carry nothing to play; like
	// libwebrtc, voipd does not send them (the timestamp still advances).
	if s.dtx && n <= 2 {
		s.pk.Skip(s.frame)
		return nil
	}
	pkt := s.pk.Packetize(s.buf[:n], s.frame, dbov, dbov < voiceDBov)
	if err := s.out.WriteRTP(pkt); err != nil {
		if s.writeErrors.Add(1) == 1 {
			s.log.Warn("sending audio failed; counting further failures", "err", err)
		}
		return nil
	}
	s.packets.Add(1)
	s.bytes.Add(uint64(n))
	s.totals.Sent[media.Audio].Packets.Add(1)
	s.totals.Sent[media.Audio].Bytes.Add(uint64(n))
	return nil
}
