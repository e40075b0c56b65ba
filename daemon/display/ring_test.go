package display

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// ringViewer attaches a viewer with a ring and no PeerConnection: what
// Source.WriteRTP does is then all there is to see.
func ringViewer(src *Source) *viewer {
	v := newViewer("test", src, nil, nil)
	src.attach(v)
	return v
}

// drain returns the ring's packets and empties it, as run would.
func drain(v *viewer) []slot {
	var out []slot
	r, w := v.r.Load(), v.w.Load()
	for ; r != w; r++ {
		out = append(out, v.ring[r%ringSlots])
	}
	v.r.Store(r)
	return out
}

// TestSpliceNewSSRC: when the producer restarts with a new SSRC and new
// sequence and timestamp bases, viewers see one continuous stream.
func TestSpliceNewSSRC(t *testing.T) {
	src := newSource("alice")
	v := ringViewer(src)
	p := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1, SequenceNumber: 65530, Timestamp: 1000}, Payload: []byte{1}}
	for range 10 {
		src.WriteRTP(&p)
		p.SequenceNumber++
		p.Timestamp += 3000
	}
	p.SSRC, p.SequenceNumber, p.Timestamp = 2, 100, 777777
	for range 10 {
		src.WriteRTP(&p)
		p.SequenceNumber++
		p.Timestamp += 3000
	}
	got := drain(v)
	if len(got) != 20 {
		t.Fatalf("%d packets, want 20", len(got))
	}
	for i, s := range got {
		if want := uint16(65530 + i); s.seq != want {
			t.Errorf("packet %d: seq %d, want %d", i, s.seq, want)
		}
		if want := uint32(1000 + 3000*i); s.ts != want {
			t.Errorf("packet %d: ts %d, want %d", i, s.ts, want)
		}
	}
}

// TestSlowViewerDrops: a viewer that does not drain never blocks the
// producer; its overflow is dropped, counted and turned into a keyframe
// request, while a viewer that keeps up loses nothing.
func TestSlowViewerDrops(t *testing.T) {
	src := newSource("alice")
	slow, fast := ringViewer(src), ringViewer(src)
	payload := make([]byte, 1200)
	p := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1}, Payload: payload}
	const n = ringSlots + 44
	got := 0
	for i := range n {
		src.WriteRTP(&p)
		p.SequenceNumber++
		if i%8 == 7 {
			got += len(drain(fast))
		}
	}
	got += len(drain(fast))
	if got != n {
		t.Errorf("the draining viewer got %d packets, want %d", got, n)
	}
	if st := src.Stats(); st.Dropped != n-ringSlots || st.Packets != n {
		t.Errorf("stats %+v, want %d packets and %d dropped", st, n, n-ringSlots)
	}
	if !slow.lost.Load() {
		t.Error("the slow viewer's loss is not flagged for a keyframe")
	}
	// An oversized payload is dropped, not truncated.
	drain(slow)
	p.Payload = make([]byte, slotBytes+1)
	src.WriteRTP(&p)
	if len(drain(slow)) != 0 {
		t.Error("an oversized payload was forwarded")
	}
}

// TestWriteRTPAllocs: Source.WriteRTP allocates nothing with two viewers,
// whether their rings have room or are full (the drop path).
func TestWriteRTPAllocs(t *testing.T) {
	src := newSource("alice")
	a, b := ringViewer(src), ringViewer(src)
	p := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1}, Payload: make([]byte, 1100)}
	write := func() {
		src.WriteRTP(&p)
		p.SequenceNumber++
	}
	if n := testing.AllocsPerRun(ringSlots/2, write); n != 0 {
		t.Errorf("WriteRTP into two rings with room: %v allocations a packet, want 0", n)
	}
	if n := testing.AllocsPerRun(2*ringSlots, write); n != 0 {
		t.Errorf("WriteRTP into two full rings: %v allocations a packet, want 0", n)
	}
	drain(a)
	drain(b)
	// A producer restart (new SSRC) is on the same path.
	p.SSRC = 2
	if n := testing.AllocsPerRun(10, write); n != 0 {
		t.Errorf("WriteRTP across an SSRC change: %v allocations a packet, want 0", n)
	}
}

// TestWriteRTPAllocsConnected measures the whole process while a source
// forwards to two connected pion viewers: WriteRTP, the viewers'
// goroutines writing through pion's TrackLocalStaticRTP, its sender-report
// interceptor and SRTP, and, in this same process, the two test clients
// receiving (without interceptors: pion's default receiver-report
// interceptor allocates about 3 times a packet, so a client with the
// defaults would be measured instead). AllocsPerRun counts every
// goroutine's allocations, rounded down to whole ones per packet, so an
// RTCP report now and then does not count. Under the race detector the
// number is only logged (see raceEnabled); WriteRTP's own 0 holds there too.
func TestWriteRTPAllocsConnected(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := startServer(t)
	src := s.Source("alice")
	src.OnKeyframeRequest(func() {})
	for range 2 {
		c, code := dialWHEP(ctx, t, s.URL(), "alice", countOnly())
		if code != http.StatusCreated {
			t.Fatalf("POST: %d", code)
		}
		if err := eventually(ctx, func() bool {
			p := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1}, Payload: make([]byte, 1000)}
			src.WriteRTP(&p)
			return c.received.Load() > 0
		}); err != nil {
			t.Fatalf("viewer never received: %v", err)
		}
	}
	p := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1}, Payload: make([]byte, 1000)}
	// Paced a little, so the rings drain and the forwarding path (not the
	// drop path) is what runs.
	tick := time.NewTicker(200 * time.Microsecond)
	defer tick.Stop()
	whole := testing.AllocsPerRun(2000, func() {
		<-tick.C
		src.WriteRTP(&p)
		p.SequenceNumber++
	})
	st := src.Stats()
	t.Logf("whole process, 2 connected viewers (server and test clients): %v allocations a packet; %d packets, %d dropped", whole, st.Packets, st.Dropped)
	if whole != 0 && !raceEnabled {
		t.Errorf("forwarding to two viewers: %v allocations a packet in the whole process, want 0", whole)
	}
}
