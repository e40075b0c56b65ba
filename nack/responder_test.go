package nack

import (
	"bytes"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

const testSSRC = 0x1234

var nackInfo = interceptor.StreamInfo{
	SSRC: testSSRC, MimeType: "video/VP8", ClockRate: 90000,
	RTCPFeedback: []interceptor.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}},
}

// wire is the rest of the chain: it keeps the last packet written, as it
// would go out, in a reused buffer, and counts writes.
type wire struct {
	writes int
	last   []byte
}

func (w *wire) Write(h *rtp.Header, payload []byte, _ interceptor.Attributes) (int, error) {
	w.writes++
	p := rtp.Packet{Header: *h, Payload: payload}
	n, err := p.MarshalTo(w.last[:cap(w.last)])
	w.last = w.last[:n]
	return n, err
}

// rtcpIn is the RTCP reader below the responder: it hands out next.
type rtcpIn struct{ next []byte }

func (r *rtcpIn) Read(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
	return copy(b, r.next), a, nil
}

// harness is one responder with one bound stream.
type harness struct {
	t      *testing.T
	f      *Responder
	r      *responder
	w      *wire
	in     *rtcpIn
	send   interceptor.RTPWriter
	read   interceptor.RTCPReader
	rtcp   []byte
	pkt    rtp.Packet
	sent   [][]byte // what went out first, by write order
	keepTx bool
}

func newHarness(t *testing.T, size uint16, info interceptor.StreamInfo) *harness {
	t.Helper()
	f, err := NewResponder(WithSize(size))
	if err != nil {
		t.Fatal(err)
	}
	i, err := f.NewInterceptor("pc")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, f: f, r: i.(*responder), w: &wire{last: make([]byte, 0, 2000)}, in: &rtcpIn{}, rtcp: make([]byte, 1500)}
	h.send = i.BindLocalStream(&info, h.w)
	h.read = i.BindRTCPReader(h.in)
	h.pkt = rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: info.SSRC}, Payload: make([]byte, 1000)}
	return h
}

// write sends packet seq, its payload marked with seq.
func (h *harness) write(seq uint16) {
	h.pkt.SequenceNumber = seq
	h.pkt.Timestamp = uint32(seq) * 3000
	h.pkt.Payload[0], h.pkt.Payload[1] = byte(seq>>8), byte(seq)
	if _, err := h.send.Write(&h.pkt.Header, h.pkt.Payload, nil); err != nil {
		h.t.Fatal(err)
	}
	if h.keepTx {
		h.sent = append(h.sent, append([]byte(nil), h.w.last...))
	}
}

// nack reads an RTCP packet carrying b through the responder.
func (h *harness) nack(b []byte) {
	h.in.next = b
	if _, _, err := h.read.Read(h.rtcp, nil); err != nil {
		h.t.Fatal(err)
	}
}

func marshal(t testing.TB, pkts ...rtcp.Packet) []byte {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func nackFor(seqs ...uint16) *rtcp.TransportLayerNack {
	return &rtcp.TransportLayerNack{SenderSSRC: 9, MediaSSRC: testSSRC, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs)}
}

// A 16-slot ring across the 16-bit sequence wrap: the last 16 packets are
// resent byte for byte, one older than that is not.
func TestRingWrapAndAge(t *testing.T) {
	h := newHarness(t, 16, nackInfo)
	h.keepTx = true
	first := uint16(65530)
	for i := range 40 {
		h.write(first + uint16(i))
	}
	last := first + 39 // 33 after the wrap
	for _, tc := range []struct {
		seq  uint16
		kept bool
	}{
		{last, true}, {last - 15, true}, {first + 30, true}, // 65560 = 24, after the wrap
		{last - 16, false}, {first, false}, {first + 5, false}, // overwritten
		{last + 1, false}, // never sent
	} {
		before := h.w.writes
		h.nack(marshal(t, nackFor(tc.seq)))
		resent := h.w.writes - before
		if !tc.kept {
			if resent != 0 {
				t.Errorf("seq %d: resent %d packets, want none (not in the ring)", tc.seq, resent)
			}
			continue
		}
		if resent != 1 {
			t.Errorf("seq %d: resent %d packets, want 1", tc.seq, resent)
			continue
		}
		if want := h.sent[tc.seq-first]; !bytes.Equal(h.w.last, want) {
			t.Errorf("seq %d: resent packet differs from the one sent\n got %x\nwant %x", tc.seq, h.w.last[:16], want[:16])
		}
	}
	if got := h.f.Resent(); got != 3 {
		t.Errorf("Resent() = %d, want 3", got)
	}
}

// Header extensions, CSRCs, marker and padding come back exactly as sent,
// and one NACK's bitmask asks for several packets.
func TestResendIsByteIdentical(t *testing.T) {
	h := newHarness(t, 64, nackInfo)
	h.keepTx = true
	h.pkt.Header.Marker = true
	h.pkt.Header.CSRC = []uint32{7, 8}
	h.pkt.Header.Padding, h.pkt.Header.PaddingSize = true, 4
	if err := h.pkt.Header.SetExtension(1, []byte{0x90}); err != nil {
		t.Fatal(err)
	}
	if err := h.pkt.Header.SetExtension(3, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for seq := range uint16(20) {
		h.write(seq)
	}
	h.nack(marshal(t, &rtcp.ReceiverReport{SSRC: 9}, nackFor(3, 5, 17)))
	if got := h.f.Resent(); got != 3 {
		t.Fatalf("Resent() = %d, want 3", got)
	}
	// The last resend was 17.
	if !bytes.Equal(h.w.last, h.sent[17]) {
		t.Fatalf("resent packet differs\n got %x\nwant %x", h.w.last, h.sent[17])
	}
}

// Streams without NACK negotiated (Opus here) are not kept at all, and a
// NACK naming another SSRC resends nothing.
func TestPassThrough(t *testing.T) {
	f, _ := NewResponder()
	i, _ := f.NewInterceptor("pc")
	w := &wire{last: make([]byte, 0, 2000)}
	audio := interceptor.StreamInfo{SSRC: 5, MimeType: "audio/opus"}
	if got := i.BindLocalStream(&audio, w); got != interceptor.RTPWriter(w) {
		t.Fatal("a stream without NACK feedback was wrapped")
	}
	h := newHarness(t, 16, nackInfo)
	h.write(1)
	other := nackFor(1)
	other.MediaSSRC = 5
	h.nack(marshal(t, other))
	if h.f.Resent() != 0 {
		t.Fatal("a NACK for another SSRC was answered")
	}
	if _, err := NewResponder(WithSize(500)); err == nil {
		t.Fatal("WithSize(500) accepted: not a power of two")
	}
}
