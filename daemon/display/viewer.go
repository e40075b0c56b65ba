package display

import (
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Ring sizes. A viewer's ring holds ringSlots packets of up to slotBytes of
// payload: 256 packets is several ordinary frames, or one large keyframe
// (a 720p VP8 keyframe is rarely over 100 packets), of slack for a viewer
// goroutine that was not scheduled for a while. 1500 bytes is more than
// any packet that crossed a network (the room) or came from the daemon's
// own packetiser (MaxPayload 1200). 384 KiB a viewer.
const (
	ringSlots = 256
	slotBytes = 1500
)

// slot is one packet's copy in a viewer's ring.
type slot struct {
	n      int
	marker bool
	seq    uint16
	ts     uint32
	buf    [slotBytes]byte
}

// viewer is one session: a browser PeerConnection receiving one source.
// The ring is single-producer (Source.WriteRTP, serialised by the
// source's lock) and single-consumer (run): w and r are the only shared
// state, and a slot is written only while it is outside [r, w).
type viewer struct {
	id    string // the session id in the Location URL
	src   *Source
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP

	ring []slot
	w, r atomic.Uint64
	wake chan struct{} // capacity 1: "w moved"
	// lost says the viewer dropped a packet; run asks for a keyframe once
	// for a run of drops instead of the producer calling out per packet.
	lost atomic.Bool
	pkt  rtp.Packet // run's reused packet header

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

func newViewer(id string, src *Source, pc *webrtc.PeerConnection, track *webrtc.TrackLocalStaticRTP) *viewer {
	v := &viewer{
		id:    id,
		src:   src,
		pc:    pc,
		track: track,
		ring:  make([]slot, ringSlots),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	v.pkt.Version = 2
	return v
}

// push copies one packet into the ring, or reports false when there is no
// room (the viewer is behind) or the payload does not fit a slot. It never
// blocks and never allocates.
func (v *viewer) push(payload []byte, marker bool, seq uint16, ts uint32) bool {
	w := v.w.Load()
	if w-v.r.Load() >= ringSlots || len(payload) > slotBytes {
		v.lost.Store(true)
		v.signal()
		return false
	}
	s := &v.ring[w%ringSlots]
	s.n = copy(s.buf[:], payload)
	s.marker, s.seq, s.ts = marker, seq, ts
	v.w.Store(w + 1)
	v.signal()
	return true
}

func (v *viewer) signal() {
	select {
	case v.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// start runs the viewer's two goroutines: the ring's consumer and the RTCP
// reader.
func (v *viewer) start(sender *webrtc.RTPSender) {
	v.wg.Add(2)
	go v.run()
	go v.readRTCP(sender)
}

// run drains the ring into the track until the viewer ends. A write error
// (the connection is not up yet, or it is gone) loses only that packet.
func (v *viewer) run() {
	defer v.wg.Done()
	for {
		select {
		case <-v.wake:
		case <-v.done:
			return
		}
		if v.lost.Swap(false) {
			v.src.requestKeyframe()
		}
		r, w := v.r.Load(), v.w.Load()
		for ; r != w; r++ {
			s := &v.ring[r%ringSlots]
			v.pkt.Marker = s.marker
			v.pkt.SequenceNumber = s.seq
			v.pkt.Timestamp = s.ts
			v.pkt.Payload = s.buf[:s.n]
			_ = v.track.WriteRTP(&v.pkt)
			v.r.Store(r + 1)
		}
	}
}

// readRTCP reads the viewer's RTCP, which also lets pion's interceptors
// run, and turns PLI and FIR into keyframe requests. It ends when the
// PeerConnection closes.
func (v *viewer) readRTCP(sender *webrtc.RTPSender) {
	defer v.wg.Done()
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				v.src.requestKeyframe()
			}
		}
	}
}

// close ends the viewer: detached from its source, its goroutines stopped
// and its PeerConnection closed (the browser sees the DTLS close). It is
// idempotent, and waits for the goroutines.
func (v *viewer) close() error {
	var err error
	v.closeOnce.Do(func() {
		v.src.detach(v)
		close(v.done)
		err = v.pc.Close()
		v.wg.Wait()
	})
	return err
}
