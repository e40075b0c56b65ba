package room_test

import (
	"context"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// lossRecorder is a recorder that hears the uplink loss reports too.
type lossRecorder struct {
	*recorder
	loss chan float64
}

func (r lossRecorder) UplinkLoss(f float64) {
	select {
	case r.loss <- f:
	default:
	}
}

// The room server's receiver reports about this device's audio reach a
// LossHandler: a sender that skips every other sequence number (half its
// packets lost, as roomd sees it) hears a fraction lost of about one half.
func TestUplinkLossFromReceiverReports(t *testing.T) {
	srv := startServer(t, nil)
	h := lossRecorder{newRecorder(), make(chan float64, 64)}
	s := join(t, srv, "door", "lossy", h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq += 2 {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte("door")}
			s.AudioTrack().WriteRTP(p) // an error (not bound yet) only loses this one
		}
	}()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case f := <-h.loss:
			if f > 0.4 && f < 0.6 {
				return
			}
			t.Logf("fraction lost %.3f (reports of the first packets may say less)", f)
		case <-deadline:
			t.Fatal("no receiver report saying about half the audio was lost")
		}
	}
}
