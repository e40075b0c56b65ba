package room_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

// cutNet is a network for one session's ICE agent whose UDP can be cut:
// while cut, every datagram either way is lost (the WebSocket, on TCP,
// is untouched: a firewall that starts dropping UDP, a NAT that forgot
// the mapping).
type cutNet struct {
	transport.Net
	cut     atomic.Bool
	dropped atomic.Int64

	mu    sync.Mutex
	conns []*cutConn
}

// vanish makes every socket open now lose all it sends and receives, for
// good, while sockets opened later work: the interface the media path used
// went away (a new DHCP address, an adapter unplugged) and the others work.
func (n *cutNet) vanish() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.conns {
		c.dead.Store(true)
	}
}

func newCutNet(t *testing.T) *cutNet {
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	return &cutNet{Net: n}
}

func (n *cutNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	cc := &cutConn{UDPConn: c, n: n}
	n.mu.Lock()
	n.conns = append(n.conns, cc)
	n.mu.Unlock()
	return cc, nil
}

type cutConn struct {
	transport.UDPConn
	n    *cutNet
	dead atomic.Bool
}

func (c *cutConn) lost() bool {
	if c.n.cut.Load() || c.dead.Load() {
		c.n.dropped.Add(1)
		return true
	}
	return false
}

func (c *cutConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.lost() {
		return len(b), nil
	}
	return c.UDPConn.WriteTo(b, addr)
}

func (c *cutConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	if c.lost() {
		return len(b), nil
	}
	return c.UDPConn.WriteToUDP(b, addr)
}

func (c *cutConn) Write(b []byte) (int, error) {
	if c.lost() {
		return len(b), nil
	}
	return c.UDPConn.Write(b)
}

func (c *cutConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil || !c.lost() {
			return n, addr, err
		}
	}
}

func (c *cutConn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFromUDP(b)
		if err != nil || !c.lost() {
			return n, addr, err
		}
	}
}

func (c *cutConn) Read(b []byte) (int, error) {
	for {
		n, err := c.UDPConn.Read(b)
		if err != nil || !c.lost() {
			return n, err
		}
	}
}

// cutPair joins a (its UDP through cut, with mediaTimeout; 0: the
// default) and b to one room, both sending audio until the test ends, and
// returns once each hears the other, b's join's member lists drained.
func cutPair(t *testing.T, srv *roomd.Server, cut *cutNet, mediaTimeout time.Duration) (a, b *recorder, sa, sb *room.Session) {
	t.Helper()
	a, b = newRecorder(), newRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cfg := room.WithSettings(room.Config{URL: wsURL(srv), Logger: testLogger(), MediaTimeout: mediaTimeout},
		func(se *webrtc.SettingEngine) { se.SetNet(cut) })
	sa, err := room.Join(ctx, cfg, params("a", "g"), a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sa.Leave(context.Background()) })
	sb = join(t, srv, "b", "g", b)
	a.waitMembers(t, "a", "b")
	sctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go sendAudio(sctx, t, sa, "a")
	go sendAudio(sctx, t, sb, "b")
	b.waitPacketFrom(t, "a")
	a.waitPacketFrom(t, "b")
	for len(b.members) > 0 {
		<-b.members // its join's
	}
	return a, b, sa, sb
}

// TestICERestartKeepsTheConnection: a member's UDP is cut long enough for
// its media connection to fail, while its WebSocket works. It restarts ICE
// on the same connection and peer connection — the restart that finds no
// path is followed by another — and once UDP is back, both sides hear
// each other again on the same tracks: no new join, no reconnect, and the
// other member sees nothing at all.
func TestICERestartKeepsTheConnection(t *testing.T) {
	srv := startServer(t, nil)
	cut := newCutNet(t)
	// A short media timeout (30 s by default): failed after 3 s without a
	// packet, long enough that a loaded machine does not trip it.
	a, b, sa, sb := cutPair(t, srv, cut, 3*time.Second)
	trackA := sa.AudioTrack()

	cut.cut.Store(true)
	within(t, a.reconnecting, "a reconnecting after its media failed")
	// Long enough for the first restart's checks to fail (3 s): another
	// follows on the same connection.
	time.Sleep(4 * time.Second)
	if st := sa.Stats(); st.State == "connected" {
		t.Fatalf("a's media connection is %s with its UDP cut", st.State)
	}
	cut.cut.Store(false)
	back := time.Now()
	within(t, a.reconnected, "a back")
	t.Logf("a back %v after UDP returned (%d datagrams dropped)", time.Since(back).Round(time.Millisecond), cut.dropped.Load())

	drain(b)
	drain(a)
	defer func() {
		if t.Failed() {
			t.Logf("a's stats at the end: %+v", sa.Stats())
		}
	}()
	b.waitPacketFrom(t, "a")
	a.waitPacketFrom(t, "b")
	st := sa.Stats()
	if st.ICERestarts != 1 || st.Reconnects != 0 {
		t.Errorf("a's stats: %d ICE restarts, %d reconnects; want 1 and 0 (the connection kept)", st.ICERestarts, st.Reconnects)
	}
	if sa.AudioTrack() != trackA {
		t.Error("a's audio track changed")
	}
	for _, r := range []*recorder{a, b} {
		select {
		case err := <-r.interrupted:
			t.Fatalf("interrupted: %v", err)
		default:
		}
	}
	select {
	case err := <-b.reconnecting:
		t.Errorf("b, whose network was fine, reconnected: %v", err)
	default:
	}
	if m := sb.Members(); !slices.Equal(m, []string{"a", "b"}) {
		t.Errorf("b's members %v, want [a b]", m)
	}
	select {
	case m := <-b.members:
		t.Errorf("b saw the members change to %v", m)
	default:
	}
}

// TestICERestartWhenThePathVanishes: the interface a member's media path
// used goes away for good (its sockets lose everything; sockets opened
// afterwards work) while its WebSocket works. With the default media
// timeout (30 s to failed), the session does not wait for the failure: it
// restarts ICE while the connection is still only disconnected, the
// restart gathers the interfaces there are, and media flows again on the
// same connection and tracks; the other member sees nothing.
func TestICERestartWhenThePathVanishes(t *testing.T) {
	srv := startServer(t, nil)
	cut := newCutNet(t)
	a, b, sa, _ := cutPair(t, srv, cut, 0)
	trackA := sa.AudioTrack()

	cut.vanish()
	gone := time.Now()
	// The restart began on the lasting disconnection, long before the 30 s
	// after which the connection counts as failed (its cause says which).
	var re *room.Error
	if err := within(t, a.reconnecting, "a reconnecting after its media path vanished"); !asRoomError(err, &re) ||
		re.Reason != proto.ReasonUnreachable || re.Msg != "room: no media from the room server" {
		t.Errorf("a reconnecting because %v, want unreachable: no media from the room server", err)
	}
	within(t, a.reconnected, "a back")
	t.Logf("a back %v after its path vanished", time.Since(gone).Round(time.Millisecond))
	drain(b)
	drain(a)
	b.waitPacketFrom(t, "a")
	a.waitPacketFrom(t, "b")
	if st := sa.Stats(); st.ICERestarts != 1 || st.Reconnects != 0 {
		t.Errorf("a's stats: %d ICE restarts, %d reconnects; want 1 and 0 (the connection kept)", st.ICERestarts, st.Reconnects)
	}
	if sa.AudioTrack() != trackA {
		t.Error("a's audio track changed")
	}
	select {
	case err := <-a.interrupted:
		t.Fatalf("interrupted: %v", err)
	case m := <-b.members:
		t.Errorf("b saw the members change to %v", m)
	default:
	}
}

// TestMediaNotBackWithinGrace: a member whose UDP stays cut is kept (its
// WebSocket works) only for the grace, counted from its media's failure:
// then the server removes it — the other member sees it leave — and its
// session ends interrupted as unreachable, not hanging in restarts.
func TestMediaNotBackWithinGrace(t *testing.T) {
	srv := startServer(t, func(c *roomd.Config) {
		c.ResumeGrace = 2 * time.Second
		c.MediaTimeout = 1500 * time.Millisecond
	})
	cut := newCutNet(t)
	a, b := newRecorder(), newRecorder()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cfg := room.WithSettings(room.Config{URL: wsURL(srv), Logger: testLogger(), MediaTimeout: 1500 * time.Millisecond},
		func(se *webrtc.SettingEngine) { se.SetNet(cut) })
	sa, err := room.Join(ctx, cfg, params("a", "g"), a)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sa.Leave(context.Background()) })
	join(t, srv, "b", "g", b)
	b.waitMembers(t, "a", "b")

	cut.cut.Store(true)
	start := time.Now()
	within(t, a.reconnecting, "a reconnecting")
	b.waitMembers(t, "b")
	t.Logf("b saw a leave %v after a's UDP was cut", time.Since(start).Round(time.Millisecond))
	err = within(t, a.interrupted, "a interrupted")
	var re *room.Error
	if !asRoomError(err, &re) || re.Reason != proto.ReasonUnreachable {
		t.Fatalf("a interrupted with %v, want reason %s", err, proto.ReasonUnreachable)
	}
	if st := sa.Stats(); st.ICERestarts != 0 {
		t.Errorf("a's stats %+v: an ICE restart counted as successful", st)
	}
}
