package session

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/room"
)

// The engine's collaborators, faked by hand: devices that count opens and
// closes, a media factory whose calls run until stopped (or fail on
// demand), and a room connector whose joins a test scripts.

// device is an open fake device; Write paces a writer (a ring) at 5 ms.
type device struct {
	id     string
	closed atomic.Bool
	audio  *fakeAudio
}

func (d *device) Read(frame []int16) error {
	if d.closed.Load() {
		return &hw.DeviceError{Op: "read", Device: d.id, Kind: hw.ErrClosed}
	}
	time.Sleep(5 * time.Millisecond)
	return nil
}

func (d *device) Write(frame []int16) error {
	if d.closed.Load() {
		return &hw.DeviceError{Op: "write", Device: d.id, Kind: hw.ErrClosed}
	}
	time.Sleep(5 * time.Millisecond)
	return nil
}

func (d *device) Info() hw.DeviceInfo {
	return hw.DeviceInfo{ID: d.id, Name: "fake " + d.id, Backend: "fake"}
}

func (d *device) Close() error {
	if d.closed.CompareAndSwap(false, true) {
		d.audio.closes.Add(1)
	}
	return nil
}

// fakeAudio opens fake devices, or fails with busy when set.
type fakeAudio struct {
	busy          error // OpenCapture's error when set
	opens, closes atomic.Int64
}

func (a *fakeAudio) OpenCapture(id string) (hw.Capture, error) {
	if a.busy != nil {
		return nil, a.busy
	}
	a.opens.Add(1)
	return &device{id: id, audio: a}, nil
}

func (a *fakeAudio) OpenPlayback(id string) (hw.Playback, error) {
	a.opens.Add(1)
	return &device{id: id, audio: a}, nil
}

func (a *fakeAudio) Devices() ([]hw.DeviceInfo, []hw.DeviceInfo, error) { return nil, nil, nil }

// open is how many devices are open now.
func (a *fakeAudio) open() int64 { return a.opens.Load() - a.closes.Load() }

// fakeMedia builds fakeCalls.
type fakeMedia struct {
	fail  error // NewCall's error when set
	mu    sync.Mutex
	calls []*fakeCall
}

func (m *fakeMedia) NewCall(p media.CallParams) (media.Call, error) {
	if m.fail != nil {
		return nil, m.fail
	}
	c := &fakeCall{failed: make(chan error, 1), members: map[string]bool{}, params: p, swapped: make(chan any, 4)}
	m.mu.Lock()
	m.calls = append(m.calls, c)
	m.mu.Unlock()
	return c, nil
}

func (m *fakeMedia) NewVideoSender(p media.VideoSenderParams) (media.VideoSender, error) {
	return nil, errors.New("no video in these tests")
}

func (m *fakeMedia) NewVideoReceiver(p media.VideoReceiverParams) (media.VideoReceiver, error) {
	return nil, errors.New("no video in these tests")
}

func (m *fakeMedia) last() *fakeCall {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.calls) == 0 {
		return nil
	}
	return m.calls[len(m.calls)-1]
}

// fakeCall runs until its context ends, or fails with what a test sends.
type fakeCall struct {
	params  media.CallParams
	swapped chan any // devices handed back by SetCapture and SetPlayback
	failed  chan error
	running atomic.Bool
	ran     atomic.Bool
	mu      sync.Mutex
	mic     bool
	ear     bool
	members map[string]bool
	loss    []float64          // SetUplinkLoss's fractions
	levels  map[string]float64 // Stats' levels: members', and "" for this device's
}

// poke is what the pipeline does on each change LevelsChanged covers.
func (c *fakeCall) poke() {
	if f := c.params.LevelsChanged; f != nil {
		f()
	}
}

// setLevel sets a member's level ("" for this device's) and says so, as
// the pipeline does when a level crosses SpeakingLevel.
func (c *fakeCall) setLevel(member string, v float64) {
	c.mu.Lock()
	if c.levels == nil {
		c.levels = map[string]float64{}
	}
	c.levels[member] = v
	c.mu.Unlock()
	c.poke()
}

func (c *fakeCall) Run(ctx context.Context) error {
	c.running.Store(true)
	c.ran.Store(true)
	defer c.running.Store(false)
	select {
	case <-ctx.Done():
		return nil
	case err := <-c.failed:
		return err
	}
}

func (c *fakeCall) AddMember(member string, _ media.RTPReader) {
	c.mu.Lock()
	c.members[member] = true
	c.mu.Unlock()
	c.poke()
}

func (c *fakeCall) RemoveMember(member string) {
	c.mu.Lock()
	delete(c.members, member)
	c.mu.Unlock()
	c.poke()
}

func (c *fakeCall) SetMute(mic, ear bool) {
	c.mu.Lock()
	c.mic, c.ear = mic, ear
	c.mu.Unlock()
	c.poke()
}

func (c *fakeCall) SetCapture(d hw.Capture)   { c.swapped <- d }
func (c *fakeCall) SetPlayback(d hw.Playback) { c.swapped <- d }
func (c *fakeCall) SetUplinkLoss(f float64) {
	c.mu.Lock()
	c.loss = append(c.loss, f)
	c.mu.Unlock()
}

func (c *fakeCall) muted() (bool, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mic, c.ear
}

func (c *fakeCall) has(member string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[member]
}

func (c *fakeCall) Stats() media.CallStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	cs := media.CallStats{Outbound: media.OutboundStats{Kind: "audio", PacketsSent: 1, BytesSent: 100, AudioLevel: c.levels[""]}}
	for m := range c.members {
		cs.Inbound = append(cs.Inbound, media.InboundStats{Member: m, AudioLevel: c.levels[m]})
	}
	return cs
}

// fakeRoom is a joined room that records what the engine asks of it.
type fakeRoom struct {
	members []string
	ticket  string
	grace   time.Duration
	mu      sync.Mutex
	left    bool
	mute    []proto.MuteConfig
	publish [][2]bool
}

func (r *fakeRoom) Members() []string               { return slices.Clone(r.members) }
func (r *fakeRoom) Ticket() string                  { return r.ticket }
func (r *fakeRoom) Grace() time.Duration            { return r.grace }
func (r *fakeRoom) AudioOut() media.RTPWriter       { return discardRTP{} }
func (r *fakeRoom) AudioLevelExtID() uint8          { return 1 }
func (r *fakeRoom) VideoOut() media.RTPWriter       { return nil }
func (r *fakeRoom) VideoFeedback() media.RTCPReader { return nil }
func (r *fakeRoom) OnBitrateEstimate(func(int))     {}
func (r *fakeRoom) SubscribeVideo([]string) error   { return nil }
func (r *fakeRoom) RequestKeyframe(string) error    { return nil }
func (r *fakeRoom) SetSubscribing(bool) error       { return nil }
func (r *fakeRoom) Stats() room.Stats {
	return room.Stats{State: "connected", RTT: 2 * time.Millisecond}
}
func (r *fakeRoom) SetMute(m proto.MuteConfig) error {
	r.mu.Lock()
	r.mute = append(r.mute, m)
	r.mu.Unlock()
	return nil
}
func (r *fakeRoom) SetPublishing(a, v bool) error {
	r.mu.Lock()
	r.publish = append(r.publish, [2]bool{a, v})
	r.mu.Unlock()
	return nil
}
func (r *fakeRoom) Leave(ctx context.Context) error {
	r.mu.Lock()
	r.left = true
	r.mu.Unlock()
	return nil
}
func (r *fakeRoom) hasLeft() bool { r.mu.Lock(); defer r.mu.Unlock(); return r.left }
func (r *fakeRoom) mutes() []proto.MuteConfig {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.mute)
}
func (r *fakeRoom) publishes() [][2]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.publish)
}
func (discardRTP) WriteRTP(*rtp.Packet) error                       { return nil }
func (discardRTP) Read([]byte) (int, interceptor.Attributes, error) { return 0, nil, io.EOF }
func (discardRTP) ReadRTCP() ([]rtcp.Packet, interceptor.Attributes, error) {
	return nil, nil, io.EOF
}

type discardRTP struct{}

// connect is a scripted connection: it gets the join's context and the
// handler the engine gave the room, and returns the room or an error.
type connect func(ctx context.Context, h Handler) (Room, error)

// fakeRooms is a Connector whose joins run a test's script.
type fakeRooms struct {
	mu      sync.Mutex
	script  connect
	handler Handler // the last join's
	joins   int
	calls   []room.CallParams
	params  []room.JoinParams // the group joins' params
	rtc     []room.RTCJoinParams
}

func (f *fakeRooms) run(ctx context.Context, h Handler) (Room, error) {
	f.mu.Lock()
	f.joins++
	f.handler = h
	script := f.script
	f.mu.Unlock()
	return script(ctx, h)
}

func (f *fakeRooms) Join(ctx context.Context, p room.JoinParams, h Handler) (Room, error) {
	f.mu.Lock()
	f.params = append(f.params, p)
	f.mu.Unlock()
	return f.run(ctx, h)
}

func (f *fakeRooms) JoinRTC(ctx context.Context, p room.RTCJoinParams, h Handler) (Room, error) {
	f.mu.Lock()
	f.rtc = append(f.rtc, p)
	f.mu.Unlock()
	return f.run(ctx, h)
}

func (f *fakeRooms) Call(ctx context.Context, p room.CallParams) (*room.CallTicket, error) {
	f.mu.Lock()
	f.calls = append(f.calls, p)
	f.mu.Unlock()
	return &room.CallTicket{CallID: "c-1", RoomID: "r-1", Ticket: "t", Peer: p.Listener.OpenID, RoomType: p.RoomType}, nil
}

func (f *fakeRooms) JoinCall(ctx context.Context, t *room.CallTicket, openid string, h Handler) (Room, error) {
	return f.run(ctx, h)
}

func (f *fakeRooms) Register(ctx context.Context, p room.PresenceParams, h room.CallHandler) (Presence, error) {
	return nil, &room.Error{Reason: proto.ReasonUnreachable, Msg: "no presence in these tests"}
}

func (f *fakeRooms) lastHandler() Handler {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.handler
}

// joinsTo is a script that joins a room with these members at once.
func joinsTo(members ...string) (connect, *fakeRoom) {
	r := &fakeRoom{members: members}
	return func(context.Context, Handler) (Room, error) { return r, nil }, r
}

// sink records the events the engine emits.
type sink struct {
	mu     sync.Mutex
	events []Event
}

func (s *sink) Emit(e Event) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}

func (s *sink) all() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// ended returns the Ended events so far.
func (s *sink) ended() []Ended {
	var out []Ended
	for _, e := range s.all() {
		if e, ok := e.(Ended); ok {
			out = append(out, e)
		}
	}
	return out
}

// rig is an engine with fakes, recording its state changes.
type rig struct {
	t      *testing.T
	e      *Engine
	audio  *fakeAudio
	media  *fakeMedia
	rooms  *fakeRooms
	events *sink
	mu     sync.Mutex
	states []State
}

func newRig(t *testing.T, mut func(*config.Config)) *rig {
	cfg := config.Default()
	cfg.Audio.Capture, cfg.Audio.Playback = "tone:440", "null"
	if mut != nil {
		mut(cfg)
	}
	r := &rig{t: t, audio: &fakeAudio{}, media: &fakeMedia{}, rooms: &fakeRooms{}, events: &sink{}}
	r.e = New(Params{
		Config: cfg, Audio: r.audio, Media: r.media, Rooms: r.rooms, Events: r.events,
		Logger: slog.New(slog.DiscardHandler),
		OnState: func(s State) {
			r.mu.Lock()
			r.states = append(r.states, s)
			r.mu.Unlock()
		},
	})
	return r
}

// moves returns the states entered so far and forgets them.
func (r *rig) moves() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.states
	r.states = nil
	return m
}

// waitState polls until the engine is in st; every wait is bounded.
func (r *rig) waitState(st State) {
	r.t.Helper()
	r.waitFor("state "+st.String(), func() bool { return r.e.State() == st })
}

func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// group is a group join of room g.
func group(g string) Group {
	return Group{GroupID: g, RoomType: "voice", NonceStr: "n", TimeStamp: 1, Signature: "s"}
}
