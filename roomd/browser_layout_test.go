package roomd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
)

// box is an element's bounding box (CSS pixels).
type box struct{ X, Y, W, H float64 }

func (b box) right() float64  { return b.X + b.W }
func (b box) bottom() float64 { return b.Y + b.H }
func (b box) overlaps(o box) bool {
	return b.X < o.right() && o.X < b.right() && b.Y < o.bottom() && o.Y < b.bottom()
}

// layout is what the layout tests read of a page: the viewport, the own
// tile, the others' tiles and the room's controls.
type layout struct {
	VW, VH   float64
	Self     box
	Mirrored bool
	Others   []box
	Controls map[string]box
}

const readLayout = `(() => {
	const b = (el) => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; };
	const tiles = [...document.querySelectorAll("#members voip-room")];
	const self = tiles.find((t) => t.classList.contains("self"));
	const v = self && self.shadowRoot.querySelector("video");
	const controls = {};
	for (const id of ["mute", "deafen", "leave"]) controls[id] = b(document.getElementById(id));
	return {vw: innerWidth, vh: innerHeight, self: self ? b(self) : null,
		mirrored: !!v && v.style.transform === "scaleX(-1)",
		others: tiles.filter((t) => t !== self).map(b), controls};
})()`

// openRoom opens n members' pages of one room at width × height and waits
// until the first sees them all.
func openRoom(ctx context.Context, t *testing.T, b *browsertest.Browser, url string, n int, w, h int64, mobile bool) *browsertest.Page {
	t.Helper()
	var first *browsertest.Page
	for i := range n {
		p, err := b.Open(ctx, fmt.Sprintf("%s&openid=m%d&autojoin=1", url, i))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := p.Viewport(ctx, w, h, mobile); err != nil {
				t.Fatal(err)
			}
			first = p
		}
	}
	if err := first.WaitFor(ctx, fmt.Sprintf(`window.voipd.state === "joined" && window.voipd.members.length === %d &&
		document.querySelectorAll("#members voip-room").length === %d &&
		getComputedStyle(document.querySelector("#join-form")).display === "none"`, n, n)); err != nil {
		t.Fatal(err)
	}
	return first
}

// TestBrowserLayout (issue 20): on a phone (390 × 844) the member who
// matters fills the width, the own tile is small, mirrored and in the
// corner, and the controls sit at the bottom of the screen, wide enough to
// hit (the join form gone while in the room); on a desktop (1280 × 800) with four members the others' tiles are
// at least 320 px wide side by side and the own tile is the small one.
// Bounding boxes, not pixels.
func TestBrowserLayout(t *testing.T) {
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("phone", func(t *testing.T) {
		p := openRoom(ctx, t, b, srv.URL()+"/?groupId=phone&roomType=video", 2, 390, 844, true)
		if err := p.WaitFor(ctx, `(() => { const s = document.querySelector("#members voip-room.self");
			const v = s && s.shadowRoot.querySelector("video"); return !!v && v.style.transform === "scaleX(-1)"; })()`); err != nil {
			t.Fatalf("the own tile is not mirrored: %v", err)
		}
		var l layout
		if err := p.Eval(ctx, readLayout, &l); err != nil {
			t.Fatal(err)
		}
		t.Logf("phone: own tile %+v, other %+v, controls %+v", l.Self, l.Others, l.Controls)
		if shots := os.Getenv("VOIPD_SCREENSHOTS"); shots != "" {
			if err := p.Screenshot(ctx, filepath.Join(shots, "room-phone.png")); err != nil {
				t.Error(err)
			}
		}
		if l.VW != 390 || l.VH != 844 || len(l.Others) != 1 {
			t.Fatalf("viewport %vx%v, %d other tiles", l.VW, l.VH, len(l.Others))
		}
		other := l.Others[0]
		if other.W < 0.9*l.VW {
			t.Errorf("the other member's tile is %.0f px wide on a %.0f px phone, want at least 90 %%", other.W, l.VW)
		}
		if l.Self.W > 0.4*other.W || !l.Mirrored {
			t.Errorf("own tile %+v (mirrored %v) against the other's %+v: want at most 40 %% as wide, mirrored", l.Self, l.Mirrored, other)
		}
		for id, c := range l.Controls {
			if c.bottom() > l.VH || c.Y < 0.8*l.VH {
				t.Errorf("%s at %+v: want it in the bottom fifth of the %v px screen", id, c, l.VH)
			}
			if c.H < 44 {
				t.Errorf("%s is %.0f px tall: too small a target for a thumb (44)", id, c.H)
			}
			if c.overlaps(other) && c.Y < other.bottom() && other.bottom() < l.VH {
				// Covering the tile is allowed only where the tile runs
				// under the bar at the screen's edge.
				t.Errorf("%s %+v covers the other member's tile %+v", id, c, other)
			}
		}
	})

	t.Run("desktop", func(t *testing.T) {
		p := openRoom(ctx, t, b, srv.URL()+"/?groupId=desk", 4, 1280, 800, false)
		var l layout
		if err := p.Eval(ctx, readLayout, &l); err != nil {
			t.Fatal(err)
		}
		t.Logf("desktop: own tile %+v, others %+v", l.Self, l.Others)
		if shots := os.Getenv("VOIPD_SCREENSHOTS"); shots != "" {
			if err := p.Screenshot(ctx, filepath.Join(shots, "room-desktop.png")); err != nil {
				t.Error(err)
			}
		}
		if len(l.Others) != 3 {
			t.Fatalf("%d other tiles, want 3", len(l.Others))
		}
		for i, o := range l.Others {
			if o.W < 320 {
				t.Errorf("tile %d is %.0f px wide, want at least 320", i, o.W)
			}
			if o.Y != l.Others[0].Y {
				t.Errorf("tile %d at y %.0f, the first at %.0f: want one row", i, o.Y, l.Others[0].Y)
			}
			for j, q := range l.Others[i+1:] {
				if o.overlaps(q) {
					t.Errorf("tiles %d and %d overlap: %+v %+v", i, i+1+j, o, q)
				}
			}
			if l.Self.W >= o.W/2 {
				t.Errorf("own tile %.0f px wide against %.0f: want the small one", l.Self.W, o.W)
			}
		}
		if r := l.Others[2].right(); r > l.VW {
			t.Errorf("the row ends at %.0f px on a %.0f px screen", r, l.VW)
		}
	})
}
