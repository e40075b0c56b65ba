package synth

import (
	"math/rand/v2"
	"testing"
)

// lumaOf draws frame number n of a pattern named name at w×h and returns a
// copy of its luma plane.
func lumaOf(t *testing.T, name string, w, h int, n uint64) []byte {
	t.Helper()
	p := newPattern(name, hwReq(w, h, 30), "")
	defer p.Close()
	p.draw(n)
	return append([]byte(nil), p.i420[:w*h]...)
}

// degrade returns y after a 5×5 box blur and uniform noise of ±amp, the
// kind of damage a low-bitrate encoder does to flat blocks and their edges.
func degrade(y []byte, w, h, amp int, rng *rand.Rand) []byte {
	out := make([]byte, len(y))
	for row := range h {
		for x := range w {
			var sum, n int
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					r, c := row+dy, x+dx
					if r >= 0 && r < h && c >= 0 && c < w {
						sum += int(y[r*w+c])
						n++
					}
				}
			}
			v := sum/n + rng.IntN(2*amp+1) - amp
			out[row*w+x] = byte(max(0, min(255, v)))
		}
	}
	return out
}

func TestFrameNumberRoundTrip(t *testing.T) {
	numbers := []uint64{0, 1, 2, 255, 256, 65535, 1 << 31, 0xFFFFFFFF, 0x5A5A5A5A, 0xA5A5A5A5}
	sizes := [][2]int{{160, 120}, {320, 240}, {640, 480}, {1280, 720}, {176, 144}, {854, 480}}
	for _, sz := range sizes {
		w, h := sz[0], sz[1]
		for _, n := range numbers {
			y := lumaOf(t, "front", w, h, n)
			got, ok := ReadFrameNumber(y, w, w, h)
			if !ok || got != uint32(n) {
				t.Errorf("%dx%d frame %d: read %d, ok=%v", w, h, n, got, ok)
			}
		}
	}
}

func TestFrameNumberSurvivesNoiseAndBlur(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, sz := range [][2]int{{320, 240}, {640, 480}} {
		w, h := sz[0], sz[1]
		for range 20 {
			n := uint64(rng.Uint32())
			y := degrade(lumaOf(t, "back", w, h, n), w, h, 40, rng)
			got, ok := ReadFrameNumber(y, w, w, h)
			if !ok || got != uint32(n) {
				t.Fatalf("%dx%d degraded frame %d: read %d, ok=%v", w, h, n, got, ok)
			}
			if id, ok := PatternID(y, w, w, h); !ok || id != PatternIDOf("back") {
				t.Fatalf("%dx%d degraded frame: pattern id %d, ok=%v; want %d", w, h, id, ok, PatternIDOf("back"))
			}
		}
	}
}

// TestFrameNumberStride reads a frame whose rows are padded, as a decoder's
// output planes usually are.
func TestFrameNumberStride(t *testing.T) {
	const w, h, stride = 320, 240, 384
	y := lumaOf(t, "", w, h, 123456)
	padded := make([]byte, stride*h)
	for row := range h {
		copy(padded[row*stride:], y[row*w:row*w+w])
		for x := w; x < stride; x++ {
			padded[row*stride+x] = 200 // garbage in the padding must not matter
		}
	}
	if got, ok := ReadFrameNumber(padded, stride, w, h); !ok || got != 123456 {
		t.Fatalf("padded rows: read %d, ok=%v", got, ok)
	}
}

// TestFrameNumberRejects: a frame without an intact mark reads as not ok,
// never as a wrong number.
func TestFrameNumberRejects(t *testing.T) {
	const w, h = 320, 240
	good := lumaOf(t, "front", w, h, 0x12345678)
	flat := make([]byte, w*h)
	for i := range flat {
		flat[i] = 128
	}
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]byte, w*h)
	for i := range noise {
		noise[i] = byte(rng.UintN(256))
	}
	mirrored := make([]byte, w*h)
	for row := range h {
		for x := range w {
			mirrored[row*w+x] = good[row*w+w-1-x]
		}
	}
	// Flip one data cell (row 1, column 5): the CRC must catch it.
	flipped := append([]byte(nil), good...)
	x0, y0, x1, y1 := markCell(w, h, 1, 5)
	for row := y0; row < y1; row++ {
		for x := x0; x < x1; x++ {
			flipped[row*w+x] = lumaWhite + lumaBlack - flipped[row*w+x]
		}
	}
	// Half a cell grey: undecided, not guessed.
	smudged := append([]byte(nil), good...)
	x0, y0, x1, y1 = markCell(w, h, 0, 3)
	for row := y0; row < y1; row++ {
		for x := x0; x < (x0+x1)/2; x++ {
			smudged[row*w+x] = 255 - smudged[row*w+x]
		}
	}
	for _, tc := range []struct {
		name string
		y    []byte
		w, h int
	}{
		{"flat grey", flat, w, h},
		{"noise", noise, w, h},
		{"mirrored", mirrored, w, h},
		{"one cell flipped", flipped, w, h},
		{"smudged cell", smudged, w, h},
		{"too small", good[:20*10], 20, 10},
		{"short plane", good[:w*10], w, h},
	} {
		if n, ok := ReadFrameNumber(tc.y, tc.w, tc.w, tc.h); ok {
			t.Errorf("%s: read %d, want not ok", tc.name, n)
		}
	}
}

func TestCRC8(t *testing.T) {
	// The catalogue check value of CRC-8/SMBUS over "123456789".
	var crc uint8
	for _, b := range []byte("123456789") {
		crc = crc8Byte(crc, b)
	}
	if crc != 0xF4 {
		t.Fatalf("CRC-8/SMBUS(\"123456789\") = %#x, want 0xf4", crc)
	}
	// The framing: number big-endian, then the id.
	want := uint8(0)
	for _, b := range []byte{0xDE, 0xAD, 0xBE, 0xEF, 0x42} {
		want = crc8Byte(want, b)
	}
	if got := crc8(0xDEADBEEF, 0x42); got != want {
		t.Fatalf("crc8(0xdeadbeef, 0x42) = %#x, want %#x", got, want)
	}
}

func TestPatternIDs(t *testing.T) {
	names := []string{"", "front", "back"}
	seen := map[uint8]string{}
	for _, name := range names {
		id := PatternIDOf(name)
		if other, dup := seen[id]; dup {
			t.Fatalf("PatternIDOf(%q) == PatternIDOf(%q) == %d", name, other, id)
		}
		seen[id] = name
		y := lumaOf(t, name, 640, 480, 7)
		if got, ok := PatternID(y, 640, 640, 480); !ok || got != id {
			t.Errorf("PatternID of %q frame = %d, %v; want %d", name, got, ok, id)
		}
	}
}

func TestDrawMarkRefusesSmallPlanes(t *testing.T) {
	y := make([]byte, 20*10)
	if DrawMark(y, 20, 20, 10, 1, 2) {
		t.Fatal("drew a mark into a 20x10 frame")
	}
	if DrawMark(make([]byte, 100), 320, 320, 240, 1, 2) {
		t.Fatal("drew a mark into a plane shorter than the frame")
	}
	y = make([]byte, 64*48)
	if !DrawMark(y, 64, 64, 48, 0xFFFFFFFF, 9) {
		t.Fatal("refused a 64x48 frame")
	}
	if n, ok := ReadFrameNumber(y, 64, 64, 48); !ok || n != 0xFFFFFFFF {
		t.Fatalf("64x48: read %d, %v", n, ok)
	}
}
