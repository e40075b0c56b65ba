package nack

import (
	"encoding/binary"
	"testing"

	"github.com/pion/interceptor"
	pionnack "github.com/pion/interceptor/pkg/nack"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// The benchmarks run pion's responder (what webrtc.RegisterDefaultInterceptors
// registers) and this package's over the same packets in the same run:
//
//	go test -run XXX -bench . -benchmem ./nack
//
// Write is the cost every outgoing packet of a NACK stream pays (the room
// client's video, and roomd's forwarding once per receiver); Resend is a
// packet plus a NACK for it and its answer. pion copies each packet into a
// pooled header and payload and answers each NACK in a new goroutine after
// unmarshalling the RTCP; here a packet is copied into its ring slot and
// the NACK read in place.

// signalWire is the rest of the chain for a benchmark: it signals every
// write, so that pion's asynchronous resend can be waited for.
type signalWire struct{ done chan struct{} }

func (w *signalWire) Write(_ *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
	w.done <- struct{}{}
	return len(payload), nil
}

type responderKind struct {
	name string
	make func(b *testing.B) interceptor.Factory
}

var kinds = []responderKind{
	{"pion", func(b *testing.B) interceptor.Factory {
		f, err := pionnack.NewResponderInterceptor(pionnack.ResponderSize(DefaultSize))
		if err != nil {
			b.Fatal(err)
		}
		return f
	}},
	{"voipd", func(b *testing.B) interceptor.Factory {
		f, err := NewResponder()
		if err != nil {
			b.Fatal(err)
		}
		return f
	}},
}

// benchStream binds one VP8 stream with NACK to a new interceptor of f.
func benchStream(b *testing.B, f interceptor.Factory) (interceptor.RTPWriter, interceptor.RTCPReader, *signalWire, *rtcpIn) {
	i, err := f.NewInterceptor("pc")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { i.Close() })
	w := &signalWire{done: make(chan struct{}, 1)}
	in := &rtcpIn{}
	return i.BindLocalStream(&nackInfo, w), i.BindRTCPReader(in), w, in
}

// A 1,100-byte VP8 packet with the transport-cc extension, as the room
// client sends them.
func benchPacket() *rtp.Packet {
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: testSSRC}, Payload: make([]byte, 1100)}
	if err := p.Header.SetExtension(3, []byte{0, 1}); err != nil {
		panic(err)
	}
	return p
}

func BenchmarkWrite(b *testing.B) {
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			send, _, w, _ := benchStream(b, k.make(b))
			p := benchPacket()
			b.ReportAllocs()
			for b.Loop() {
				p.SequenceNumber++
				if _, err := send.Write(&p.Header, p.Payload, nil); err != nil {
					b.Fatal(err)
				}
				<-w.done
			}
		})
	}
}

func BenchmarkResend(b *testing.B) {
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			send, read, w, in := benchStream(b, k.make(b))
			p := benchPacket()
			nack, err := rtcp.Marshal([]rtcp.Packet{nackFor(0)})
			if err != nil {
				b.Fatal(err)
			}
			in.next = nack
			pid := len(nack) - 4
			buf := make([]byte, 1500)
			b.ReportAllocs()
			for b.Loop() {
				// A new packet each time: both responders refuse a second
				// resend of one packet within a round trip.
				p.SequenceNumber++
				if _, err := send.Write(&p.Header, p.Payload, nil); err != nil {
					b.Fatal(err)
				}
				<-w.done
				binary.BigEndian.PutUint16(nack[pid:], p.SequenceNumber)
				if _, _, err := read.Read(buf, nil); err != nil {
					b.Fatal(err)
				}
				<-w.done // the resend
			}
		})
	}
}
