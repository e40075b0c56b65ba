// Package rtptest is steady media for tests that need a sender's packets
// and feedback without an encoder: the send-side estimate's tests on roomd
// and on LiveKit.
package rtptest

import (
	"context"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// RTPWriter is a local track (pion's TrackLocalStaticRTP).
type RTPWriter interface{ WriteRTP(*rtp.Packet) error }

// RTCPReader is a sender's feedback (pion's RTPSender, a room's VideoFeedback).
type RTCPReader interface {
	ReadRTCP() ([]rtcp.Packet, interceptor.Attributes, error)
}

// SteadyVideo writes payload as VP8-sized video — 30 packets a second,
// each a frame of its own (marker set, payload type 96, 90 kHz timestamps)
// — to track until ctx ends, through failed writes as the daemon's
// pipeline does, and reads fb until it fails, as the daemon does: the
// server's feedback arrives there.
func SteadyVideo(ctx context.Context, track RTPWriter, fb RTCPReader, payload []byte) {
	go func() {
		for {
			if _, _, err := fb.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	go func() {
		tick := time.NewTicker(33 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_ = track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: true,
				SequenceNumber: seq, Timestamp: uint32(seq) * 3000}, Payload: payload})
		}
	}()
}
