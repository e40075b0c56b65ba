package roomd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/voipd/voipd/proto"
	roomclient "github.com/voipd/voipd/room"
)

// abuseWait bounds the waits for something that must happen (a close, a
// packet, goroutines settling): generous, since the suite runs beside
// other heavy jobs; nothing is measured against it.
const abuseWait = 30 * time.Second

// waitFor polls cond until it holds, failing the test after abuseWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(abuseWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %v: %s", abuseWait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lineLog keeps roomd's log lines at info and above.
type lineLog struct {
	mu    sync.Mutex
	lines []slog.Record
}

type lineHandler struct{ l *lineLog }

func (h lineHandler) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelInfo }
func (h lineHandler) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h lineHandler) WithGroup(string) slog.Handler                 { return h }
func (h lineHandler) Handle(_ context.Context, r slog.Record) error {
	h.l.mu.Lock()
	h.l.lines = append(h.l.lines, r.Clone())
	h.l.mu.Unlock()
	return nil
}

// refused counts the "refused" lines and adds up their counts.
func (l *lineLog) refused() (lines int, count int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.lines {
		if r.Message != "refused" {
			continue
		}
		lines++
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "count" {
				count += a.Value.Int64()
			}
			return true
		})
	}
	return lines, count
}

func (l *lineLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// startAbused starts a roomd logging into lines that limits loopback
// peers too (the tests have no other addresses), and whose refusal log's
// interval is longer than the test: it writes its first line, then counts
// until Close writes the rest, so the test knows how many lines there
// must be whatever the machine's speed.
func startAbused(t *testing.T, cfg Config, lines *lineLog) *Server {
	t.Helper()
	cfg.Listen = "127.0.0.1:0"
	cfg.Apps = []App{testApp}
	cfg.Logger = slog.New(lineHandler{lines})
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.refusals.every = time.Hour
	s.limits.limitLoopback = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// hearer is a room member counting the audio packets it hears from each
// other member, and the longest silence between two of them.
type hearer struct {
	mu    sync.Mutex
	heard map[string]int
	last  map[string]time.Time
	gap   map[string]time.Duration // since resetGaps
	lost  atomic.Value             // the error it was interrupted with
}

func newHearer() *hearer {
	return &hearer{heard: map[string]int{}, last: map[string]time.Time{}, gap: map[string]time.Duration{}}
}

func (h *hearer) heardOne(member string) {
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.heard[member]++
	if last, ok := h.last[member]; ok {
		h.gap[member] = max(h.gap[member], now.Sub(last))
	}
	h.last[member] = now
}

func (h *hearer) resetGaps() {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.gap)
}

func (h *hearer) longestGap(member string) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gap[member]
}

func (h *hearer) MembersChanged([]string) {}
func (h *hearer) TrackEnded(string)       {}
func (h *hearer) Interrupted(err error)   { h.lost.Store(err) }
func (h *hearer) AudioTrack(member string, t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	go func() {
		for {
			if _, _, err := t.ReadRTP(); err != nil {
				return
			}
			h.heardOne(member)
		}
	}()
}

func (h *hearer) from(member string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.heard[member]
}

// speaker is a room member sending a packet every 20 ms, as a voice does.
type speaker struct {
	name string
	sess *roomclient.Session
	h    *hearer
	sent atomic.Int64
}

func (sp *speaker) speak(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for seq := uint16(0); ; seq++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960},
			Payload: []byte(sp.name)}
		if sp.sess.AudioTrack().WriteRTP(p) == nil {
			sp.sent.Add(1)
		}
	}
}

// joinRoom joins s with the Go room client from 127.0.0.1. It tries again
// while roomd refuses it with 429 (the address used up its joins), and
// returns how many times it was refused.
func joinRoom(t *testing.T, s *Server, openid, group string, h roomclient.Handler) (*roomclient.Session, int) {
	t.Helper()
	refused := 0
	deadline := time.Now().Add(abuseWait)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		sg := Sign(testApp, openid, group, time.Now())
		sess, err := roomclient.Join(ctx, roomclient.Config{URL: "ws" + strings.TrimPrefix(s.URL(), "http") + "/ws"},
			roomclient.JoinParams{AppID: sg.AppID, OpenID: sg.OpenID, GroupID: sg.GroupID, NonceStr: sg.NonceStr,
				TimeStamp: sg.TimeStamp, Signature: sg.Signature}, h)
		cancel()
		switch {
		case err == nil:
			t.Cleanup(func() { sess.Leave(context.Background()) })
			return sess, refused
		case strings.Contains(err.Error(), "429") && time.Now().Before(deadline):
			refused++
			time.Sleep(100 * time.Millisecond)
		default:
			t.Fatalf("%s: join: %v (after %d refusals)", openid, err, refused)
		}
	}
}

// dialFrom opens a WebSocket to s from the local address, trying again
// while roomd answers 429; refused counts those answers.
func dialFrom(t *testing.T, s *Server, local string, refused *int) *websocket.Conn {
	t.Helper()
	nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	d := &websocket.Dialer{NetDialContext: nd.DialContext, HandshakeTimeout: 10 * time.Second}
	deadline := time.Now().Add(abuseWait)
	for {
		c, resp, err := d.Dial("ws"+strings.TrimPrefix(s.URL(), "http")+"/ws", nil)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("dial from %s: %v", local, err)
		}
		*refused++
		time.Sleep(100 * time.Millisecond)
	}
}

// readUntil reads c's messages until one of type typ (returned) or an
// error message (returned too), failing on anything else ending the read.
func readUntil(t *testing.T, c *websocket.Conn, typ string) *proto.Message {
	t.Helper()
	for {
		c.SetReadDeadline(time.Now().Add(abuseWait))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("reading for %s: %v", typ, err)
		}
		m, err := proto.Decode(b)
		if err != nil {
			t.Fatalf("roomd sent %s: %v", b, err)
		}
		if m.Type == typ || m.Type == proto.TypeError {
			return m
		}
	}
}

// closedByServer reads c until roomd closes it.
func closedByServer(t *testing.T, c *websocket.Conn) {
	t.Helper()
	for {
		c.SetReadDeadline(time.Now().Add(abuseWait))
		if _, _, err := c.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("roomd did not close the connection")
			}
			return
		}
	}
}

// rawUpgrade asks for a WebSocket by hand and then says nothing. It holds
// only the TCP connection (no buffers, no goroutine), so that the heap and
// goroutines the test measures are roomd's. It returns the answer's status
// and, for a refusal, its body; conn is open only when upgraded.
func rawUpgrade(addr string) (conn net.Conn, status int, body string, err error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, 0, "", err
	}
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	c.SetReadDeadline(time.Now().Add(abuseWait))
	var buf [512]byte
	n := 0
	for n < len("HTTP/1.1 101") {
		k, err := c.Read(buf[n:])
		n += k
		if err != nil {
			c.Close()
			return nil, 0, "", fmt.Errorf("no answer to the upgrade: %w", err)
		}
	}
	fmt.Sscanf(string(buf[len("HTTP/1.1 "):n]), "%d", &status)
	if status == http.StatusSwitchingProtocols {
		return c, status, "", nil
	}
	rest, _ := io.ReadAll(c) // roomd closes a refused connection
	c.Close()
	return nil, status, string(buf[:n]) + string(rest), nil
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// settled waits until the goroutines are back to at most base+margin and
// returns their number.
func settled(t *testing.T, base, margin int) int {
	t.Helper()
	n := 0
	waitFor(t, "goroutines back to where they were", func() bool {
		n = runtime.NumGoroutine()
		return n <= base+margin
	})
	return n
}

// pairs calls f for each speaker and each other speaker it sends to.
func pairs(spk []*speaker, f func(from, to *speaker)) {
	for _, a := range spk {
		for _, b := range spk {
			if a != b {
				f(a, b)
			}
		}
	}
}

// flowing runs phase f and checks that each speaker kept hearing the others
// meanwhile: at least half of what they sent during it had arrived when
// it ended (loopback loses nothing, and forwarding takes a millisecond;
// the margin is for a loaded machine), and logs the figures.
func flowing(t *testing.T, phase string, spk []*speaker, f func()) {
	t.Helper()
	type mark struct{ sent, heard int64 }
	before := map[[2]string]mark{}
	pairs(spk, func(a, b *speaker) { before[[2]string{a.name, b.name}] = mark{a.sent.Load(), int64(b.h.from(a.name))} })
	began := time.Now()
	f()
	t.Logf("%s: took %v", phase, time.Since(began).Round(time.Millisecond))
	pairs(spk, func(a, b *speaker) {
		m := before[[2]string{a.name, b.name}]
		sent, heard := a.sent.Load()-m.sent, int64(b.h.from(a.name))-m.heard
		t.Logf("%s: %s heard %d of the %d packets %s sent meanwhile", phase, b.name, heard, sent, a.name)
		if heard < sent/2 {
			t.Errorf("%s: %s heard %d of the %d packets %s sent meanwhile", phase, b.name, heard, sent, a.name)
		}
	})
}

// abuseCounts is what the abusive clients saw.
type abuseCounts struct {
	refused int // 429s, and error answers to a first message: every refusal roomd logs
}

// TestRoomdUnderAbuse: two members talk in a room while roomd gets 1,000
// WebSockets that never join, malformed, oversized and bogus messages,
// and a flood of badly signed joins, all from one address. They keep
// hearing each other; a good join from another address gets in during the
// flood, and one from the flooding address once its joins refill; the
// silent sockets are closed after the handshake timeout; roomd's memory
// and goroutines stay bounded and come back; refusals are logged in two
// lines.
func TestRoomdUnderAbuse(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,300 connections")
	}
	var lines lineLog
	cfg := Config{
		HandshakeTimeout: 3 * time.Second,
		// A burst above the pending limit: the silent sockets meet the
		// pending limit, and the flood after them the join rate.
		JoinBurst:            50,
		JoinRate:             5,
		MaxPendingPerAddress: 32,
	}
	s := startAbused(t, cfg, &lines)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var spk []*speaker
	for _, name := range []string{"a", "b"} {
		h := newHearer()
		sess, _ := joinRoom(t, s, name, "g", h)
		spk = append(spk, &speaker{name: name, sess: sess, h: h})
	}
	var speaking sync.WaitGroup
	for _, sp := range spk {
		speaking.Go(func() { sp.speak(ctx) })
	}
	waitFor(t, "a and b hearing each other", func() bool { return spk[0].h.from("b") > 0 && spk[1].h.from("a") > 0 })
	type mark struct{ sent, heard int64 }
	start := map[*speaker]mark{}
	pairs(spk, func(a, b *speaker) { start[a] = mark{a.sent.Load(), int64(b.h.from(a.name))} })
	baseG, baseHeap := runtime.NumGoroutine(), heapInUse()
	for _, sp := range spk {
		sp.h.resetGaps()
	}
	t.Logf("before: %d goroutines, heap in use %.1f MiB", baseG, float64(baseHeap)/(1<<20))

	var counts abuseCounts
	flowing(t, "1,000 silent WebSockets", spk, func() { silentSockets(t, s, &counts, baseG, baseHeap) })
	flowing(t, "malformed, oversized and bogus messages", spk, func() { badMessages(t, s, &counts) })
	flowing(t, "a flood of badly signed joins", spk, func() { joinFlood(t, s, &counts) })

	// A good join from the flooding address, once its joins refill.
	h := newHearer()
	sess, waited := joinRoom(t, s, "c", "g", h)
	counts.refused += waited
	c := &speaker{name: "c", sess: sess, h: h}
	cctx, cstop := context.WithCancel(ctx)
	go c.speak(cctx)
	waitFor(t, "c hearing a and b, and them hearing c", func() bool {
		return h.from("a") > 0 && h.from("b") > 0 && spk[0].h.from("c") > 0 && spk[1].h.from("c") > 0
	})
	t.Logf("a good join from the flooding address got in after %d refusals (429)", waited)
	cstop()
	lctx, lcancel := context.WithTimeout(context.Background(), 10*time.Second)
	sess.Leave(lctx)
	lcancel()

	for _, sp := range spk {
		if err, _ := sp.h.lost.Load().(error); err != nil {
			t.Fatalf("%s was interrupted: %v", sp.name, err)
		}
	}
	// Nothing lost on the way: what a and b sent through the whole abuse
	// arrives (waiting for the last packets, not for a time).
	cancel()
	speaking.Wait()
	pairs(spk, func(a, b *speaker) {
		sent := a.sent.Load() - start[a].sent
		waitFor(t, b.name+" hearing what "+a.name+" sent", func() bool { return int64(b.h.from(a.name))-start[a].heard >= sent*95/100 })
		// A figure, not a test: the machine's load decides it as much as roomd.
		t.Logf("through the abuse %s heard %d of the %d packets %s sent; the longest silence between two was %v",
			b.name, int64(b.h.from(a.name))-start[a].heard, sent, a.name, b.h.longestGap(a.name).Round(time.Millisecond))
	})
	n := settled(t, baseG, 10)
	waitFor(t, "no address pending", func() bool { return s.limits.pending("127.0.0.1:0") == 0 && s.limits.pending("127.0.0.2:0") == 0 })
	after := heapInUse()
	t.Logf("after: %d goroutines (%+d), heap in use %.1f MiB (%+.1f MiB)", n, n-baseG,
		float64(after)/(1<<20), (float64(after)-float64(baseHeap))/(1<<20))
	if after > baseHeap+16<<20 {
		t.Errorf("heap in use %.1f MiB after the abuse, %.1f MiB before", float64(after)/(1<<20), float64(baseHeap)/(1<<20))
	}

	before := lines.len()
	s.Close() // writes the refusals counted since the first line
	n1, sum := lines.refused()
	t.Logf("%d refusals, logged in %d lines (%d log lines in all)", counts.refused, n1, before)
	if n1 != 2 || sum != int64(counts.refused) {
		t.Errorf("refusals logged in %d lines adding up to %d; want 2 lines (the first, then the rest) adding up to the %d refusals clients saw",
			n1, sum, counts.refused)
	}
	if before > 100 {
		t.Errorf("%d log lines for %d refusals: the log is not rate-limited", before, counts.refused)
	}
}

// silentSockets opens 1,000 WebSockets from 127.0.0.1 that never send a
// join. roomd takes as many as the pending limit and its joins allow and
// refuses the rest (429); while they hang, a good join from 127.0.0.2
// gets in; the ones taken are closed after the handshake timeout with an
// error that says so.
func silentSockets(t *testing.T, s *Server, counts *abuseCounts, baseG int, baseHeap uint64) {
	var open []net.Conn
	byLimit := map[string]int{}
	for range 1000 {
		c, status, body, err := rawUpgrade(s.Addr())
		switch {
		case err != nil:
			t.Fatal(err)
		case status == http.StatusSwitchingProtocols:
			open = append(open, c)
		case status == http.StatusTooManyRequests:
			counts.refused++
			switch {
			case strings.Contains(body, "waiting to join"):
				byLimit[refusedPending]++
			case strings.Contains(body, "too many joins"):
				byLimit[refusedRate]++
			}
			if !strings.Contains(body, "Retry-After") {
				t.Fatalf("429 without Retry-After: %q", body)
			}
		default:
			t.Fatalf("upgrade answered %d: %q", status, body)
		}
	}
	g, heap := runtime.NumGoroutine(), heapInUse()
	pending := s.limits.pending("127.0.0.1:0")
	t.Logf("1,000 silent WebSockets: %d taken (%d pending now), %d refused for the pending limit, %d for the join rate; "+
		"%+d goroutines, heap in use %+.1f MiB (%+.0f B a connection)",
		len(open), pending, byLimit[refusedPending], byLimit[refusedRate], g-baseG,
		(float64(heap)-float64(baseHeap))/(1<<20), (float64(heap)-float64(baseHeap))/1000)
	// The pending limit refuses them all once 32 hang: a refused socket
	// takes none of the address's joins, so the join rate has no say here
	// (the flood below shows it).
	switch {
	case byLimit[refusedPending] == 0:
		t.Errorf("refusals by limit %v: want the pending limit to refuse", byLimit)
	case pending > 32:
		t.Errorf("%d connections of one address pending, above the limit of 32", pending)
	case g-baseG > 3*32+20:
		t.Errorf("%d more goroutines with 1,000 silent sockets: not bounded by the pending limit", g-baseG)
	case heap > baseHeap+16<<20:
		t.Errorf("heap in use grew by %.1f MiB with 1,000 silent sockets", (float64(heap)-float64(baseHeap))/(1<<20))
	}

	// Another address is not held up by this one's flood.
	var waited int
	c := dialFrom(t, s, "127.0.0.2", &waited)
	c.WriteJSON(joinMsg(testApp, "d", "g2", time.Now()))
	if m := readUntil(t, c, proto.TypeJoined); m.Type != proto.TypeJoined {
		t.Fatalf("a good join from 127.0.0.2 during the flood: %+v", m)
	}
	c.Close()

	for _, c := range open {
		b, _ := io.ReadAll(c) // until roomd closes it
		c.Close()
		if !bytes.Contains(b, []byte("handshake timeout")) {
			t.Fatalf("a silent WebSocket ended without the handshake timeout's error: %q", b)
		}
		counts.refused++ // each got an error message: a refusal
	}
}

// badMessage is one abusive exchange: a first message (first set), or
// messages from a joined member (after its join and roomd's offer).
type badMessage struct {
	name  string
	first []byte                      // sent instead of a join
	after func(offer string) [][]byte // sent by a joined member, given roomd's offer
	// alive: roomd ignores it and the member goes on (a candidate roomd
	// cannot use is not the member's fault); else an error "params" and
	// the connection closed.
	alive bool
}

func badMessages(t *testing.T, s *Server, counts *abuseCounts) {
	big := []byte(`{"type":"join","appId":"` + strings.Repeat("x", proto.MaxMessageBytes) + `"}`)
	msg := func(v any) []byte { b, _ := json.Marshal(v); return b }
	cand := func(c string) []byte {
		return msg(map[string]any{"type": "candidate", "candidate": json.RawMessage(c)})
	}
	answer := func(sdp string) []byte { return msg(&proto.Message{Type: proto.TypeAnswer, SDP: sdp}) }
	var many [][]byte
	for i := range maxPendingCands + 1 {
		many = append(many, cand(fmt.Sprintf(`{"candidate":"candidate:%d 1 udp 2130706431 192.0.2.1 %d typ host","sdpMid":"0"}`, i, 10000+i)))
	}
	fixed := func(msgs ...[]byte) func(string) [][]byte { return func(string) [][]byte { return msgs } }
	cases := []badMessage{
		{name: "oversized first message", first: big},
		{name: "malformed JSON first", first: []byte(`{"type":"join",`)},
		{name: "binary garbage first", first: []byte{0xff, 0x00, 0x13, 0x37}},
		{name: "join without a signature", first: []byte(`{"type":"join","kind":"voip","appId":"x","openid":"o","groupId":"g"}`)},
		{name: "oversized", after: fixed(big)},
		{name: "malformed JSON", after: fixed([]byte(`{"type":"answer","sdp":`))},
		{name: "unknown type", after: fixed([]byte(`{"type":"hello"}`))},
		{name: "mute without muteConfig", after: fixed([]byte(`{"type":"mute"}`))},
		{name: "garbage SDP", after: fixed(answer("v=0 this is not SDP"))},
		{name: "SDP without media", after: fixed(answer("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"))},
		{name: "SDP with a truncated media line", after: fixed(answer("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio\r\n"))},
		{name: "roomd's offer sent back as the answer", after: func(offer string) [][]byte { return [][]byte{answer(offer)} }},
		{name: "candidate not an object", after: fixed(cand(`42`))},
		{name: "candidate garbage", after: fixed(cand(`{"candidate":"candidate:garbage ~~"}`)), alive: true},
		{name: "too many candidates before an answer", after: fixed(many...)},
	}
	for _, bm := range cases {
		badExchange(t, s, bm, counts)
	}
	waitFor(t, "the bogus members gone", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.rooms[testApp.ID+"\x00bogus"] == nil
	})
}

// badExchange plays one badMessage from 127.0.0.2 and checks roomd's answer.
func badExchange(t *testing.T, s *Server, bm badMessage, counts *abuseCounts) {
	t.Helper()
	c := dialFrom(t, s, "127.0.0.2", new(int))
	defer c.Close()
	send := [][]byte{bm.first}
	if bm.first == nil {
		c.WriteJSON(joinMsg(testApp, "bogus-"+strings.ReplaceAll(bm.name, " ", "-"), "bogus", time.Now()))
		m := readUntil(t, c, proto.TypeOffer)
		if m.Type != proto.TypeOffer {
			t.Fatalf("%s: the join answered %+v", bm.name, m)
		}
		send = bm.after(m.SDP)
	}
	for _, b := range send {
		if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
			break // roomd may have closed already: what it said is read below
		}
	}
	if bm.alive {
		c.WriteJSON(&proto.Message{Type: proto.TypePing})
		if m := readUntil(t, c, proto.TypePong); m.Type != proto.TypePong {
			t.Fatalf("%s: answered %+v; want the member to go on", bm.name, m)
		}
		c.WriteJSON(&proto.Message{Type: proto.TypeLeave})
		closedByServer(t, c)
		return
	}
	m := readUntil(t, c, proto.TypeError)
	if m.Type != proto.TypeError || m.Reason != proto.ReasonParams {
		t.Fatalf("%s: answered %+v; want error params", bm.name, m)
	}
	t.Logf("%s: error %s %q", bm.name, m.Reason, m.Message)
	closedByServer(t, c)
	if bm.first != nil {
		counts.refused++
	}
}

// joinFlood sends 300 badly signed joins from 127.0.0.1, ten at a time:
// roomd refuses them all, most with 429 for the join rate once the
// address's joins are used up, the others with error "signature".
func joinFlood(t *testing.T, s *Server, counts *abuseCounts) {
	var limited, signature, other atomic.Int64
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 10 {
		wg.Go(func() {
			for i := range jobs {
				switch floodJoin(s, i) {
				case http.StatusTooManyRequests:
					limited.Add(1)
				case http.StatusForbidden:
					signature.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	for i := range 300 {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	t.Logf("300 badly signed joins: %d refused with 429, %d with error signature", limited.Load(), signature.Load())
	if other.Load() != 0 || limited.Load() == 0 {
		t.Errorf("join flood: %d answered otherwise than 429 or error signature, %d with 429", other.Load(), limited.Load())
	}
	counts.refused += int(limited.Load() + signature.Load())
}

// floodJoin is one badly signed join; it returns 429 for an upgrade
// refused for the join rate, 403 for error "signature", 0 for anything
// else.
func floodJoin(s *Server, i int) int {
	d := &websocket.Dialer{HandshakeTimeout: abuseWait}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(s.URL(), "http")+"/ws", nil)
	if err != nil {
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			return 0
		}
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), "too many joins from 127.0.0.1") {
			return 0 // refused, but not for its joins
		}
		return http.StatusTooManyRequests
	}
	defer c.Close()
	j := joinMsg(testApp, fmt.Sprintf("flood-%d", i), "g", time.Now())
	j.Signature = strings.Repeat("0", len(j.Signature))
	c.WriteJSON(j)
	c.SetReadDeadline(time.Now().Add(abuseWait))
	var m proto.Message
	if err := c.ReadJSON(&m); err != nil || m.Type != proto.TypeError || m.Reason != proto.ReasonSignature {
		return 0
	}
	return http.StatusForbidden
}
