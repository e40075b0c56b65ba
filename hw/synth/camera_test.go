package synth

import (
	"bytes"
	"hash/fnv"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
)

func hwReq(w, h, fps int) hw.CameraRequest { return hw.CameraRequest{Width: w, Height: h, FPS: fps} }

func TestPatternInfoAndMode(t *testing.T) {
	for _, tc := range []struct {
		name       string
		req        hw.CameraRequest
		id         string
		w, h, fps  int
		wantFormat hw.PixelFormat
		format     hw.PixelFormat
	}{
		{"front", hwReq(320, 240, 15), "pattern:front", 320, 240, 15, hw.FormatI420, hw.FormatI420},
		{"", hw.CameraRequest{}, "pattern", 640, 480, 30, hw.FormatI420, hw.FormatI420},
		{"back", hwReq(321, 241, 500), "pattern:back", 320, 240, 120, hw.FormatYUYV, hw.FormatYUYV},
		{"x", hwReq(99999, 99999, 30), "pattern:x", 3840, 2160, 30, hw.FormatI420, hw.FormatMJPEG},
	} {
		c := NewPatternCameraFormat(tc.name, tc.req, tc.format)
		info := c.Info()
		want := hw.VideoFormat{Format: tc.wantFormat, Width: tc.w, Height: tc.h, FPS: []int{tc.fps}}
		if info.ID != tc.id || !info.Synthetic || len(info.Formats) != 1 ||
			info.Formats[0].Format != want.Format || info.Formats[0].Width != want.Width ||
			info.Formats[0].Height != want.Height || info.Formats[0].FPS[0] != want.FPS[0] {
			t.Errorf("%q %+v: Info() = %+v, want id %q and mode %+v", tc.name, tc.req, info, tc.id, want)
		}
		if _, ok := c.(hw.DropCounter); !ok {
			t.Errorf("%q: does not count drops", tc.name)
		}
		c.Close()
	}
}

// TestPatternFrames: each frame carries its Seq as the drawn frame number
// and the camera's pattern id, with capture times on the absolute schedule.
func TestPatternFrames(t *testing.T) {
	const w, h, fps = 320, 240, 100
	c := newPattern("front", hwReq(w, h, fps), hw.FormatI420)
	defer c.Close()
	period := time.Second / fps
	var last uint64
	for i := range 10 {
		f, err := c.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if f.Format != hw.FormatI420 || f.Width != w || f.Height != h || len(f.Data) != w*h*3/2 {
			t.Fatalf("frame %+v", f)
		}
		if i > 0 && f.Seq <= last {
			t.Fatalf("Seq %d after %d", f.Seq, last)
		}
		last = f.Seq
		if want := c.clock.start.Add(time.Duration(f.Seq+1) * period); !f.Captured.Equal(want) {
			t.Fatalf("frame %d captured %v, want %v", f.Seq, f.Captured, want)
		}
		n, ok := ReadFrameNumber(f.Data, w, w, h)
		if !ok || uint64(n) != f.Seq {
			t.Fatalf("frame Seq %d reads as %d, ok=%v", f.Seq, n, ok)
		}
		if id, ok := PatternID(f.Data, w, w, h); !ok || id != PatternIDOf("front") {
			t.Fatalf("pattern id %d, %v", id, ok)
		}
	}
}

// TestPatternMoves: the picture below the band changes from frame to frame,
// so an encoder sees motion, not a still.
func TestPatternMoves(t *testing.T) {
	const w, h = 320, 240
	a, b := lumaOf(t, "front", w, h, 10), lumaOf(t, "front", w, h, 11)
	band := markBandHeight(w, h)
	changed := 0
	for i := band * w; i < w*h; i++ {
		if a[i] != b[i] {
			changed++
		}
	}
	if changed < (h-band)*w/2 {
		t.Fatalf("only %d of %d pixels below the band changed between frames", changed, (h-band)*w)
	}
}

// TestPatternNamesLookDifferent: two names give different tints, so a
// person (and a colour check in a browser) can tell the cameras apart.
func TestPatternNamesLookDifferent(t *testing.T) {
	front, back := newPattern("front", hwReq(320, 240, 30), ""), newPattern("back", hwReq(320, 240, 30), "")
	defer front.Close()
	defer back.Close()
	du, dv := int(front.u)-int(back.u), int(front.v)-int(back.v)
	if du*du+dv*dv < 32*32 {
		t.Fatalf("front tint (%d,%d) and back tint (%d,%d) are too close", front.u, front.v, back.u, back.v)
	}
}

// TestPatternYUYV: the YUYV camera delivers the I420 picture packed, so a
// conversion back to I420 under test can be checked against the original.
func TestPatternYUYV(t *testing.T) {
	const w, h = 320, 240
	c := newPattern("back", hwReq(w, h, 100), hw.FormatYUYV)
	defer c.Close()
	f, err := c.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if f.Format != hw.FormatYUYV || len(f.Data) != w*h*2 {
		t.Fatalf("frame %s len %d", f.Format, len(f.Data))
	}
	ref := newPattern("back", hwReq(w, h, 100), hw.FormatI420)
	defer ref.Close()
	ref.draw(f.Seq)
	y := make([]byte, w*h)
	for row := range h {
		for x := range w {
			y[row*w+x] = f.Data[row*w*2+2*x]
			if y[row*w+x] != ref.i420[row*w+x] {
				t.Fatalf("Y(%d,%d) = %d, want %d", x, row, y[row*w+x], ref.i420[row*w+x])
			}
			cu, cv := ref.i420[w*h+row/2*w/2+x/2], ref.i420[w*h*5/4+row/2*w/2+x/2]
			if u, v := f.Data[row*w*2+x/2*4+1], f.Data[row*w*2+x/2*4+3]; u != cu || v != cv {
				t.Fatalf("UV(%d,%d) = %d,%d, want %d,%d", x, row, u, v, cu, cv)
			}
		}
	}
	if n, ok := ReadFrameNumber(y, w, w, h); !ok || uint64(n) != f.Seq {
		t.Fatalf("YUYV luma reads %d, %v; want %d", n, ok, f.Seq)
	}
}

// TestPatternPacing checks the camera-clock invariant: frames handed out
// plus frames dropped equals the periods elapsed, whatever the scheduler did.
func TestPatternPacing(t *testing.T) {
	const fps = 50
	c := newPattern("", hwReq(160, 120, fps), "")
	defer c.Close()
	period := time.Second / fps
	const n = 15
	var before int64
	for range n {
		before = int64(time.Since(c.clock.start) / period)
		if _, err := c.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	}
	after := int64(time.Since(c.clock.start) / period)
	if got := int64(n + c.Dropped()); got > after || got < before {
		t.Fatalf("read %d + dropped %d frames; %d..%d periods elapsed", n, c.Dropped(), before, after)
	}
}

// TestPatternLateReaderDrops: a reader 200 ms late gets the newest frame,
// Seq jumps by the frames it missed, and they are counted.
func TestPatternLateReaderDrops(t *testing.T) {
	const fps = 50
	c := newPattern("", hwReq(160, 120, fps), "")
	defer c.Close()
	first, err := c.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // a stalled reader
	f, err := c.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Dropped(); d < 9 || f.Seq-first.Seq-1 != d {
		t.Fatalf("after a 200 ms stall: Seq %d → %d, dropped %d", first.Seq, f.Seq, d)
	}
	if n, ok := ReadFrameNumber(f.Data, 160, 160, 120); !ok || uint64(n) != f.Seq {
		t.Fatalf("late frame reads %d, %v; want %d", n, ok, f.Seq)
	}
}

func TestPatternZeroAllocs(t *testing.T) {
	for _, format := range []hw.PixelFormat{hw.FormatI420, hw.FormatYUYV} {
		// A high rate keeps the run short; the allocation count does not
		// depend on it.
		c := NewPatternCameraFormat("front", hwReq(320, 240, 120), format)
		if _, err := c.ReadFrame(); err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(10, func() { _, _ = c.ReadFrame() }); a != 0 {
			t.Errorf("%s: %v allocs per frame", format, a)
		}
		c.Close()
	}
}

func TestPatternCloseUnblocks(t *testing.T) {
	c := NewPatternCamera("front", hwReq(160, 120, 1)) // a frame a second: ReadFrame blocks
	closeUnblocks(t, c.Close, func() error { _, err := c.ReadFrame(); return err })
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// TestPatternFrameOnDemand: Frame draws the frame ReadFrame would deliver
// for the same number, in the camera's format, without waiting.
func TestPatternFrameOnDemand(t *testing.T) {
	const w, h = 320, 240
	c := newPattern("front", hwReq(w, h, 30), hw.FormatI420)
	defer c.Close()
	read, err := c.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte(nil), read.Data...)
	for _, n := range []uint64{read.Seq + 1000, 7, read.Seq} {
		f := c.Frame(n)
		if got, ok := ReadFrameNumber(f.Data, w, w, h); !ok || uint64(got) != n || f.Seq != n || !f.Captured.IsZero() {
			t.Fatalf("Frame(%d): reads %d ok=%v, Seq %d, Captured %v", n, got, ok, f.Seq, f.Captured)
		}
	}
	if f := c.Frame(read.Seq); !bytes.Equal(f.Data, want) {
		t.Fatalf("Frame(%d) differs from what ReadFrame delivered for it", read.Seq)
	}
	y := newPattern("front", hwReq(w, h, 30), hw.FormatYUYV)
	defer y.Close()
	if f := y.Frame(3); f.Format != hw.FormatYUYV || len(f.Data) != w*h*2 {
		t.Fatalf("YUYV Frame: format %v, %d bytes", f.Format, len(f.Data))
	}
}

// TestPatternRamp: below the band each row is the wrapping luma ramp from
// its start level, except where the white bar crosses it.
func TestPatternRamp(t *testing.T) {
	const w, h = 640, 480
	c := newPattern("front", hwReq(w, h, 30), hw.FormatI420)
	defer c.Close()
	const n = 37
	f := c.Frame(n)
	const ramp = lumaWhite - lumaBlack
	barX, barW := n*6%w, max(2, w/16)
	for row := markBandHeight(w, h); row < h; row += 7 {
		v := (2*row + n*4%ramp + int(PatternIDOf("front"))) % ramp
		for x := range w {
			want := byte(lumaBlack + (v+x)%ramp)
			if x >= barX && x < barX+barW {
				want = lumaWhite
			}
			if got := f.Data[row*w+x]; got != want {
				t.Fatalf("row %d x %d: %d, want %d", row, x, got, want)
			}
		}
	}
}

// The pattern's pixels are pinned: frames hashed (FNV-64a over frames 0,
// 1, 77, 1000 and 2³²-1 in a row) as the byte-by-byte drawing made them
// before the fills went through copy. A change meant to alter the pattern
// updates the table (and roomd/web/framenumber.js if the mark moves).
func TestPatternPixelsPinned(t *testing.T) {
	for _, c := range []struct {
		w, h int
		name string
		want uint64
	}{
		{640, 480, "bench-a", 0x6ea9a7c75458b1a3},
		{640, 480, "x", 0xff939beb0baa117f},
		{320, 240, "bench-a", 0xc45642913b269e43},
		{320, 240, "x", 0x8f4c3778a95a755f},
		{1280, 720, "bench-a", 0xa25f10642e5447c0},
		{1280, 720, "x", 0x76d98953927f70cf},
		{176, 144, "bench-a", 0x1568a83cc452da83},
		{176, 144, "x", 0xc9ee0b84a922c617},
	} {
		p := newPattern(c.name, hwReq(c.w, c.h, 30), hw.FormatI420)
		h := fnv.New64a()
		for _, n := range []uint64{0, 1, 77, 1000, 1<<32 - 1} {
			h.Write(p.Frame(n).Data)
		}
		p.Close()
		if got := h.Sum64(); got != c.want {
			t.Errorf("%dx%d %q: frames hash to %#x, want %#x", c.w, c.h, c.name, got, c.want)
		}
	}
}

// fill sets every byte, whatever the length (the doubling copy's last
// step is partial).
func TestFill(t *testing.T) {
	for n := range 70 {
		b := make([]byte, n+2)
		fill(b[1:n+1], 0xA5)
		for i, v := range b {
			want := byte(0xA5)
			if i == 0 || i == n+1 {
				want = 0
			}
			if v != want {
				t.Fatalf("length %d: byte %d is %#x, want %#x", n, i, v, want)
			}
		}
	}
}

func BenchmarkPatternFrame640x480(b *testing.B) {
	c := newPattern("front", hwReq(640, 480, 30), hw.FormatI420)
	defer c.Close()
	b.ReportAllocs()
	n := uint64(0)
	for b.Loop() {
		c.Frame(n)
		n++
	}
}
