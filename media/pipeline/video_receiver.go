package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"github.com/voipd/voipd/codec/vp8"
	"github.com/voipd/voipd/codec/vp8rtp"
	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/media"
)

// keyframeRetry is how long the receiver waits for a requested keyframe
// before asking again: a PLI can be lost too, and the sender may be busy;
// more often than a few times a second only floods it.
const keyframeRetry = 300 * time.Millisecond

// VideoReceiver reads one member's VP8 RTP, reassembles the frames, and
// decodes them for onFrame when there is one.
type VideoReceiver struct {
	member  string
	src     media.RTPReader
	display media.RTPWriter // the local screen's source; nil: none
	log     *slog.Logger
	onFrame func(member string, img yuv.I420, keyframe bool)
	askKey  atomic.Pointer[func()]

	asm     *vp8rtp.Assembler
	dec     *vp8.Decoder // created by Run when onFrame is set
	pkt     rtp.Packet
	buf     [1500]byte // one datagram; pion's TrackRemote reads one packet per call
	lastAsk time.Time

	packets, bytes, lost, malformed atomic.Uint64
	asmMalformed, asmDropped        atomic.Uint64 // the Assembler's counters, mirrored for Stats
	received, decoded, keyDecoded   atomic.Uint64
	dropped                         atomic.Uint64
	requests                        atomic.Uint64
	width, height                   atomic.Int32
	freeze                          freezeMeter   // of the frames passed on
	totals                          *media.Totals // the daemon's (Factory's), or the receiver's own
	lostTally, droppedTally         media.Tally
	// The last frame passed on: its RTP timestamp and the Assembler's
	// waits and give-ups by then, to say what a freeze came from.
	lastTS               uint32
	lastWaits, lastGives uint64
	// clock is time.Now; tests that send faster than real time give the
	// receiver their own, so that waits are measured in stream time.
	clock func() time.Time
}

// NewVideoReceiver prepares to receive member's video from src. onFrame is
// called on Run's goroutine with each decoded picture, a view of the
// decoder's buffer valid only during the call (copy it with yuv.Copy to
// keep it). With onFrame nil nothing would look at the pictures (voipd's
// screen is a browser that decodes the RTP itself), so no decoder is made:
// frames are reassembled, counted and checked for loss as before, which is
// what keyframe requests need, and the size is read from each keyframe's
// header. That saves libvpx's decode (a tenth of a video call's CPU) and
// its frame buffers. log may be nil (slog.Default).
func NewVideoReceiver(member string, src media.RTPReader, log *slog.Logger, onFrame func(member string, img yuv.I420, keyframe bool)) *VideoReceiver {
	if log == nil {
		log = slog.Default()
	}
	return &VideoReceiver{member: member, src: src, log: log, onFrame: onFrame, asm: vp8rtp.NewAssembler(), clock: time.Now, totals: new(media.Totals)}
}

// SetDisplay sets where every packet also goes as it passes (the local
// screen's source for this member): the packet parsed once for both.
// Call before Run.
func (r *VideoReceiver) SetDisplay(w media.RTPWriter) { r.display = w }

// OnKeyframeNeeded sets the function the receiver calls when it needs a
// keyframe: at the start and after a lost or damaged frame, again every
// keyframeRetry until one arrives. The caller sends a PLI for the member's
// track (room: WriteRTCP of an rtcp.PictureLossIndication). It is called
// on Run's goroutine and must not block.
func (r *VideoReceiver) OnKeyframeNeeded(fn func()) { r.askKey.Store(&fn) }

// Stats returns the counters so far; safe from any goroutine.
func (r *VideoReceiver) Stats() media.InboundStats {
	st := media.InboundStats{
		Member:           r.member,
		Kind:             "video",
		PacketsReceived:  r.packets.Load(),
		BytesReceived:    r.bytes.Load(),
		PacketsLost:      int64(r.lost.Load()),
		FramesReceived:   r.received.Load(),
		FramesDecoded:    r.decoded.Load(),
		KeyFramesDecoded: r.keyDecoded.Load(),
		FramesDropped:    r.dropped.Load() + r.asmDropped.Load(),
		FrameWidth:       int(r.width.Load()),
		FrameHeight:      int(r.height.Load()),
		KeyframeRequests: r.requests.Load(),
		PacketsMalformed: r.malformed.Load() + r.asmMalformed.Load(),
	}
	st.FreezeCount, st.TotalFreezesDuration, st.PauseCount, st.TotalPausesDuration = r.freeze.totals()
	return st
}

// Run reads (and decodes, for onFrame) until src's Read fails: io.EOF (the
// track ended) returns nil, anything else that error. ctx is checked
// between packets; to stop a Run blocked in Read, close the track.
func (r *VideoReceiver) Run(ctx context.Context) error {
	if r.onFrame != nil {
		dec, err := vp8.NewDecoder()
		if err != nil {
			return fmt.Errorf("media: %w", err)
		}
		r.dec = dec
		defer dec.Close()
	}
	for !ctxDone(ctx) {
		n, _, err := r.src.Read(r.buf[:])
		if err != nil {
			if ctxDone(ctx) || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("media: reading %s's video: %w", r.member, err)
		}
		r.receive(r.buf[:n])
	}
	return nil
}

// receive files one datagram and decodes the frame it completes.
func (r *VideoReceiver) receive(b []byte) {
	if err := r.pkt.Unmarshal(b); err != nil {
		r.malformed.Add(1)
		return
	}
	r.packets.Add(1)
	r.bytes.Add(uint64(len(r.pkt.Payload)))
	tot := &r.totals.Received[media.Video]
	tot.Packets.Add(1)
	tot.Bytes.Add(uint64(len(r.pkt.Payload)))
	if r.display != nil {
		r.display.WriteRTP(&r.pkt) // the local screen never holds up the receiver
	}
	r.asm.Push(&r.pkt)
	now := r.clock()
	for {
		f, ok := r.asm.Next(now)
		if !ok {
			break
		}
		r.received.Add(1)
		if froze := r.freeze.frame(now); froze > 0 {
			r.logFreeze(froze, f.Timestamp)
		}
		st := r.asm.Stats()
		r.lastTS, r.lastWaits, r.lastGives = f.Timestamp, st.Waits, st.GiveUps
		if r.dec != nil {
			r.decode(f)
		} else if f.Keyframe {
			if w, h, ok := vp8.KeyframeSize(f.Data); ok {
				r.width.Store(int32(w))
				r.height.Store(int32(h))
			}
		}
	}
	st := r.asm.Stats()
	r.lost.Store(st.PacketsLost)
	r.asmMalformed.Store(st.PacketsMalformed)
	r.asmDropped.Store(st.FramesDropped)
	r.lostTally.Add(&tot.Lost, int64(st.PacketsLost))
	r.droppedTally.Add(&tot.FramesDropped, int64(st.FramesDropped))
	// Asked at the end of a frame that left the stream still waiting for
	// a keyframe, not on every packet: the first packets of the keyframe
	// that ends the wait must not trigger another.
	if r.asm.WantKeyframe() {
		if r.pkt.Marker {
			r.askForKeyframe()
		}
	} else {
		r.lastAsk = time.Time{} // the next loss asks at once
	}
}

// logFreeze says, at debug level, what a freeze of gap before the frame of
// RTP timestamp ts came from: the sender's own gap between the frames
// (media time), waits for resent packets, waits given up.
func (r *VideoReceiver) logFreeze(gap time.Duration, ts uint32) {
	if !r.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	st := r.asm.Stats()
	r.log.Debug("video froze", "member", r.member, "gap", gap,
		"mediaGap", time.Duration(ts-r.lastTS)*time.Second/vp8rtp.ClockRate,
		"waits", st.Waits-r.lastWaits, "givenUp", st.GiveUps-r.lastGives)
}

func (r *VideoReceiver) decode(f vp8rtp.Frame) {
	img, err := r.dec.Decode(f.Data)
	if err != nil {
		// A frame libvpx could not decode, or decoded from a damaged
		// reference: nothing after it is right until a keyframe.
		r.dropped.Add(1)
		r.totals.Received[media.Video].FramesDropped.Add(1)
		r.asm.RequireKeyframe()
		if r.dropped.Load() == 1 {
			r.log.Warn("dropping undecodable video", "member", r.member, "err", err)
		}
		return
	}
	if img.Width == 0 {
		return
	}
	r.decoded.Add(1)
	if f.Keyframe {
		r.keyDecoded.Add(1)
	}
	r.width.Store(int32(img.Width))
	r.height.Store(int32(img.Height))
	if r.onFrame != nil {
		r.onFrame(r.member, img, f.Keyframe)
	}
}

// askForKeyframe calls the keyframe callback, at most every keyframeRetry.
func (r *VideoReceiver) askForKeyframe() {
	now := time.Now()
	if !r.lastAsk.IsZero() && now.Sub(r.lastAsk) < keyframeRetry {
		return
	}
	r.lastAsk = now
	r.requests.Add(1)
	if fn := r.askKey.Load(); fn != nil {
		(*fn)()
	}
}
