package browsertest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/hw/synth"
	"github.com/voipd/voipd/internal/browsertest"
)

// framePage loads roomd/web/framenumber.js and offers read(url, w, h): draw
// the image at url on a w×h canvas (scaling it when the size differs) and
// return the mark the JS reader finds, as JSON.
const framePage = `<!doctype html>
<title>framenumber</title>
<script type="module">
import { readMark, readFrameNumber } from "/framenumber.js";
window.read = async (url, w, h) => {
  const img = new Image();
  img.src = url;
  await img.decode();
  const c = document.createElement("canvas");
  c.width = w; c.height = h;
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0, w, h);
  const data = ctx.getImageData(0, 0, w, h);
  const m = readMark(data);
  if ((m === null) !== (readFrameNumber(data) === null)) throw new Error("readMark and readFrameNumber disagree");
  return JSON.stringify(m);
};
window.ready = true;
</script>`

// i420ToRGBA converts a frame as a browser shows a decoded one: BT.601
// limited range to full-range RGB, so the JS reader sees what it will see
// behind a <video> element.
func i420ToRGBA(f []byte, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	clamp := func(v float64) uint8 { return uint8(max(0, min(255, v+0.5))) }
	for y := range h {
		for x := range w {
			Y := 1.164 * (float64(f[y*w+x]) - 16)
			U := float64(f[w*h+y/2*w/2+x/2]) - 128
			V := float64(f[w*h*5/4+y/2*w/2+x/2]) - 128
			img.SetRGBA(x, y, color.RGBA{clamp(Y + 1.596*V), clamp(Y - 0.392*U - 0.813*V), clamp(Y + 2.017*U), 255})
		}
	}
	return img
}

// TestFrameNumberJS checks that roomd/web/framenumber.js reads the same
// number and pattern id as hw/synth's Go reader, from real pattern camera
// frames and from marks with extreme numbers, at the frame's size and
// scaled to half and to an odd size by the canvas.
func TestFrameNumberJS(t *testing.T) {
	js, err := os.ReadFile("../../roomd/web/framenumber.js")
	if err != nil {
		t.Fatal(err)
	}
	type frame struct {
		png    []byte
		number uint32
		id     uint8
	}
	var mu sync.Mutex
	frames := map[string]frame{}
	var unmarkedPNG []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(framePage))
		case "/framenumber.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(js)
		case "/unmarked.png":
			w.Header().Set("Content-Type", "image/png")
			mu.Lock()
			w.Write(unmarkedPNG)
			mu.Unlock()
		default:
			mu.Lock()
			f, ok := frames[r.URL.Path]
			mu.Unlock()
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "image/png")
			w.Write(f.png)
		}
	}))
	defer srv.Close()

	const w, h = 640, 480
	add := func(name string, i420 []byte, number uint32, id uint8) {
		var buf bytes.Buffer
		if err := png.Encode(&buf, i420ToRGBA(i420, w, h)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		frames["/"+name+".png"] = frame{buf.Bytes(), number, id}
		mu.Unlock()
	}
	for _, name := range []string{"front", "back"} {
		cam := synth.NewPatternCamera(name, hw.CameraRequest{Width: w, Height: h, FPS: 60})
		for range 2 {
			f, err := cam.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			n, ok := synth.ReadFrameNumber(f.Data, w, w, h)
			if !ok || uint64(n) != f.Seq {
				t.Fatalf("Go reader: %d, %v; want %d", n, ok, f.Seq)
			}
			add(name+strconv.FormatUint(f.Seq, 10), f.Data, n, synth.PatternIDOf(name))
		}
		cam.Close()
	}
	for _, n := range []uint32{0, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xDEADBEEF} {
		i420 := make([]byte, w*h*3/2)
		for i := range i420 {
			i420[i] = 128
		}
		synth.DrawMark(i420, w, w, h, n, 0xA7)
		add("mark"+strconv.FormatUint(uint64(n), 16), i420, n, 0xA7)
	}

	unmarked := make([]byte, w*h*3/2)
	for i := range unmarked {
		unmarked[i] = byte(i % 251) // texture, not a flat colour
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, i420ToRGBA(unmarked, w, h)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	unmarkedPNG = buf.Bytes()
	mu.Unlock()

	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := b.Open(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `window.ready === true`); err != nil {
		t.Fatal(err)
	}
	read := func(path string, cw, ch int) (number uint32, id int, ok bool) {
		t.Helper()
		var s string
		if err := p.Eval(ctx, fmt.Sprintf("window.read(%q, %d, %d)", path, cw, ch), &s); err != nil {
			t.Fatal(err)
		}
		var m *struct {
			Frame   uint32
			Pattern int
		}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("%s: %q: %v", path, s, err)
		}
		if m == nil {
			return 0, 0, false
		}
		return m.Frame, m.Pattern, true
	}
	for path, f := range frames {
		for _, size := range [][2]int{{w, h}, {w / 2, h / 2}, {500, 376}} {
			n, id, ok := read(path, size[0], size[1])
			if !ok || n != f.number || id != int(f.id) {
				t.Errorf("%s on a %dx%d canvas: JS read %d, id %d, ok=%v; want %d, id %d", path, size[0], size[1], n, id, ok, f.number, f.id)
			}
		}
	}
	// A frame without a mark (a texture) reads as null, not as some number.
	if n, _, ok := read("/unmarked.png", w, h); ok {
		t.Errorf("JS read %d from a frame without a mark", n)
	}
}
