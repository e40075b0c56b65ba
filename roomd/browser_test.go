package roomd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
	"github.com/voipd/voipd/roomd"
)

// startRoomd runs a dev-mode roomd on 127.0.0.1 for the test.
func startRoomd(t *testing.T) *roomd.Server {
	t.Helper()
	srv, err := roomd.New(roomd.Config{
		Listen: "127.0.0.1:0",
		Apps:   []roomd.App{{ID: "wx20afc706a711eefc", Secret: "browser-test-secret"}},
		Dev:    true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// stats is window.voipd.stats()'s shape.
type stats struct {
	InboundAudio []struct {
		Member          string
		PacketsReceived int
		AudioLevel      float64
	}
	OutboundAudio struct{ PacketsSent int }
}

func (s stats) from(member string) (packets int, ok bool) {
	for _, in := range s.InboundAudio {
		if in.Member == member {
			return in.PacketsReceived, true
		}
	}
	return 0, false
}

func readStats(ctx context.Context, t *testing.T, p *browsertest.Page) stats {
	t.Helper()
	var s stats
	if err := p.Eval(ctx, `window.voipd.stats()`, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func members(ctx context.Context, t *testing.T, p *browsertest.Page) []string {
	t.Helper()
	var m []string
	if err := p.Eval(ctx, `window.voipd.members`, &m); err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

// TestBrowserRoom joins two Chromium pages to one room through the embedded
// client and follows a session: both see both, hear each other (the fake
// microphone's beep arrives with a non-zero level), mute stops one side's
// packets, and a leave shrinks the other's member list.
// recordSpeaking makes the page remember, in window.sawSpeaking, every
// member whose tile has said "speaking" (the attribute set while
// window.voipd.speakers names them) since.
const recordSpeaking = `(() => {
	if (window.sawSpeaking) return;
	window.sawSpeaking = new Set();
	const look = (el) => {
		if (el.hasAttribute("speaking") && window.voipd.speakers.includes(el.openid)) window.sawSpeaking.add(el.openid);
	};
	document.querySelectorAll("#members voip-room").forEach(look);
	new MutationObserver((ms) => ms.forEach((m) => look(m.target)))
		.observe(document.querySelector("#members"), {subtree: true, attributeFilter: ["speaking"]});
})()`

func TestBrowserRoom(t *testing.T) {
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	pages := map[string]*browsertest.Page{}
	for _, id := range []string{"alice", "bob"} {
		p, err := b.Open(ctx, srv.URL()+"/?groupId=g1&openid="+id+"&autojoin=1")
		if err != nil {
			t.Fatal(err)
		}
		pages[id] = p
	}
	alice, bob := pages["alice"], pages["bob"]

	t.Run("both see both", func(t *testing.T) {
		for id, p := range pages {
			if err := p.WaitFor(ctx, `window.voipd.state === "joined" && window.voipd.members.length === 2`); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if got := members(ctx, t, p); !slices.Equal(got, []string{"alice", "bob"}) {
				t.Errorf("%s's members = %v, want [alice bob]", id, got)
			}
			var tiles []string
			if err := p.Eval(ctx, `[...document.querySelectorAll("#members voip-room")].map(e => e.openid + ":" + e.mode)`, &tiles); err != nil {
				t.Fatal(err)
			}
			slices.Sort(tiles)
			other := map[string]string{"alice": "bob", "bob": "alice"}[id]
			want := []string{id + ":camera", other + ":video"}
			slices.Sort(want)
			if !slices.Equal(tiles, want) {
				t.Errorf("%s's tiles = %v, want %v", id, tiles, want)
			}
		}
	})

	t.Run("each hears the other", func(t *testing.T) {
		for id, other := range map[string]string{"alice": "bob", "bob": "alice"} {
			wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
			cond := fmt.Sprintf(`(await window.voipd.stats()).inboundAudio.some(a =>
				a.member === %q && a.packetsReceived > 0 && a.audioLevel > 0)`, other)
			err := pages[id].WaitFor(wctx, cond)
			wcancel()
			if err != nil {
				t.Fatalf("%s never heard %s: %v\nlast stats: %+v", id, other, err, readStats(ctx, t, pages[id]))
			}
			// The level also drives the speaking state shown on the tile.
			// Chromium's fake microphone beeps briefly twice a second, so
			// the tile says "speaking" for a stats period (300 ms) at a
			// time, and less on a loaded machine: the page records each
			// time it does, rather than the test hoping to poll inside one.
			if err := pages[id].Eval(ctx, recordSpeaking, nil); err != nil {
				t.Fatal(err)
			}
			wctx, wcancel = context.WithTimeout(ctx, 20*time.Second)
			err = pages[id].WaitFor(wctx, fmt.Sprintf(`window.sawSpeaking.has(%q)`, other))
			wcancel()
			if err != nil {
				t.Errorf("%s never showed %s speaking: %v", id, other, err)
			}
			var audios int
			if err := pages[id].Eval(ctx, fmt.Sprintf(`document.querySelectorAll('#audio audio[data-member=%q]').length`, other), &audios); err != nil || audios != 1 {
				t.Errorf("%s has %d <audio> elements for %s (err %v), want 1", id, audios, other, err)
			}
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		path := filepath.Join(t.ArtifactDir(), "alice.png")
		if err := alice.Screenshot(ctx, path); err != nil {
			t.Fatal(err)
		}
		png, err := os.ReadFile(path)
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatalf("screenshot %s: %v", path, err)
		}
		t.Logf("screenshot of a joined page: %s (kept with go test -artifacts)", path)
	})

	t.Run("mute stops sending", func(t *testing.T) {
		if err := alice.Eval(ctx, `document.querySelector("#mute").click()`, nil); err != nil {
			t.Fatal(err)
		}
		if err := alice.WaitFor(ctx, `window.voipd.muteConfig.muteMicrophone === true &&
			document.querySelector("#mute").getAttribute("aria-pressed") === "true"`); err != nil {
			t.Fatal(err)
		}
		sent := waitSteady(ctx, t, func() int { return readStats(ctx, t, alice).OutboundAudio.PacketsSent })
		bobGot := waitSteady(ctx, t, func() int { n, _ := readStats(ctx, t, bob).from("alice"); return n })
		// Still nothing a while later, on either side of the SFU.
		time.Sleep(time.Second)
		if now := readStats(ctx, t, alice).OutboundAudio.PacketsSent; now != sent {
			t.Errorf("alice muted: packetsSent went from %d to %d", sent, now)
		}
		if now, _ := readStats(ctx, t, bob).from("alice"); now != bobGot {
			t.Errorf("alice muted: bob's packetsReceived from alice went from %d to %d", bobGot, now)
		}

		// Unmuting resumes.
		if err := alice.Eval(ctx, `document.querySelector("#mute").click()`, nil); err != nil {
			t.Fatal(err)
		}
		if err := alice.WaitFor(ctx, fmt.Sprintf(`(await window.voipd.stats()).outboundAudio.packetsSent > %d`, sent)); err != nil {
			t.Fatalf("alice unmuted: %v", err)
		}
	})

	t.Run("leave shrinks the list", func(t *testing.T) {
		if err := bob.Eval(ctx, `document.querySelector("#leave").click()`, nil); err != nil {
			t.Fatal(err)
		}
		if err := bob.WaitFor(ctx, `window.voipd.state === "left"`); err != nil {
			t.Fatal(err)
		}
		if err := alice.WaitFor(ctx, `window.voipd.members.length === 1 &&
			document.querySelectorAll("#members voip-room").length === 1 &&
			document.querySelectorAll("#audio audio").length === 0`); err != nil {
			t.Fatal(err)
		}
		if got := members(ctx, t, alice); !slices.Equal(got, []string{"alice"}) {
			t.Errorf("alice's members after bob left = %v, want [alice]", got)
		}
	})

	// The client must get through all of this without an uncaught exception.
	for id, p := range pages {
		for _, line := range p.Console() {
			t.Logf("%s console: %s", id, line)
			if strings.HasPrefix(line, "exception") {
				t.Errorf("%s's page threw: %s", id, line)
			}
		}
	}
}

// waitSteady polls read once a second until two reads agree, and returns
// that value: the counter has stopped. Bounded by ctx via t.Fatal.
func waitSteady(ctx context.Context, t *testing.T, read func() int) int {
	t.Helper()
	prev := read()
	for ctx.Err() == nil {
		time.Sleep(time.Second)
		now := read()
		if now == prev {
			return now
		}
		prev = now
	}
	t.Fatalf("counter still growing at %d when the test's time ran out", prev)
	return 0
}

// TestBrowserBadSignature opens the client with a signature that does not
// match and expects roomd's reason word on the page.
func TestBrowserBadSignature(t *testing.T) {
	srv := startRoomd(t)
	resp, err := http.Get(srv.URL() + "/dev/sign?openid=mallory&groupId=g1")
	if err != nil {
		t.Fatal(err)
	}
	var signed struct {
		AppID, NonceStr, Signature string
		TimeStamp                  int64
	}
	err = json.NewDecoder(resp.Body).Decode(&signed)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Flip one hex digit: well-formed, wrong.
	sig := []byte(signed.Signature)
	sig[0] = map[bool]byte{true: '1', false: '0'}[sig[0] == '0']
	q := url.Values{
		"groupId": {"g1"}, "openid": {"mallory"}, "autojoin": {"1"},
		"appId": {signed.AppID}, "nonceStr": {signed.NonceStr},
		"timeStamp": {fmt.Sprint(signed.TimeStamp)}, "signature": {string(sig)},
	}

	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := b.Open(ctx, srv.URL()+"/?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `window.voipd.state === "error"`); err != nil {
		t.Fatal(err)
	}
	var shown struct {
		Reason, Text, Words string
		Hidden              bool
	}
	if err := p.Eval(ctx, `({reason: window.voipd.lastError.reason,
		text: document.querySelector("#error .reason").textContent,
		words: document.querySelector("#error .words").textContent,
		hidden: document.querySelector("#error").hidden})`, &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Reason != "signature" || shown.Text != "signature" || shown.Words != "the join was not signed correctly" || shown.Hidden {
		t.Errorf("page shows %+v, want reason and text \"signature\" in words, visible", shown)
	}
}
