package synth

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"

	"github.com/voipd/voipd/hw"
)

// Defaults and limits of a pattern camera's mode. A zero field of the
// request takes the default; sizes are rounded down to even numbers because
// I420 and YUYV subsample chroma by two horizontally (and I420 vertically).
const (
	defaultWidth  = 640
	defaultHeight = 480
	defaultFPS    = 30
	maxWidth      = 3840
	maxHeight     = 2160
	maxFPS        = 120
)

// Pattern is a synthetic camera showing a moving test pattern with its frame
// number and pattern id drawn in a band at the top (see ReadFrameNumber and
// PatternID). It implements hw.Camera and hw.DropCounter.
//
// Below the band a diagonal luma ramp slides and a white bar sweeps across,
// so every frame differs from the last and an encoder has real work; the
// chroma (the picture's tint) comes from the name, so "front" and "back"
// look different to a person as well as to PatternID.
type Pattern struct {
	clock  *frameClock
	info   hw.CameraInfo
	format hw.PixelFormat
	width  int
	height int
	id     uint8
	u, v   byte   // the name's tint
	i420   []byte // the frame as drawn, reused
	packed []byte // the YUYV frame, reused; nil for I420
}

// NewPatternCamera returns a synthetic I420 camera at the mode req asks for
// (640x480 at 30 fps where a field is zero). Frames become available at
// req.FPS from the moment it returns.
func NewPatternCamera(name string, req hw.CameraRequest) hw.Camera {
	return NewPatternCameraFormat(name, req, hw.FormatI420)
}

// NewPatternCameraFormat is NewPatternCamera delivering format, which must
// be hw.FormatI420 or hw.FormatYUYV (anything else gives I420), so tests can
// exercise the conversion a real YUYV webcam needs.
func NewPatternCameraFormat(name string, req hw.CameraRequest, format hw.PixelFormat) hw.Camera {
	return newPattern(name, req, format)
}

func newPattern(name string, req hw.CameraRequest, format hw.PixelFormat) *Pattern {
	w, h, fps := patternMode(req)
	if format != hw.FormatYUYV {
		format = hw.FormatI420
	}
	id := hw.PatternPrefix
	if name != "" {
		id += ":" + name
	}
	u, v := tintOf(name)
	p := &Pattern{
		clock:  newFrameClock(time.Second / time.Duration(fps)),
		format: format,
		width:  w,
		height: h,
		id:     PatternIDOf(name),
		u:      u,
		v:      v,
		i420:   make([]byte, w*h*3/2),
		info: hw.CameraInfo{
			ID:        id,
			Name:      strings.TrimSpace("synthetic pattern " + name),
			Formats:   []hw.VideoFormat{{Format: format, Width: w, Height: h, FPS: []int{fps}}},
			Synthetic: true,
		},
	}
	if format == hw.FormatYUYV {
		p.packed = make([]byte, w*h*2)
	}
	return p
}

// tintOf picks the chroma of a name's picture: a hue from the name's hash
// on a circle of radius 72 around grey, saturated enough to see, inside the
// range so the ±16 drift in draw never clips. A hue of 360 steps (not the
// 8-bit pattern id) keeps "front" and "back" on opposite sides.
func tintOf(name string) (u, v byte) {
	h := fnv.New32a()
	h.Write([]byte(name))
	a := float64(h.Sum32()%360) * math.Pi / 180
	return byte(128 + math.Round(72*math.Cos(a))), byte(128 + math.Round(72*math.Sin(a)))
}

// patternMode clamps a request to a mode the pattern can draw.
func patternMode(req hw.CameraRequest) (w, h, fps int) {
	w, h, fps = req.Width, req.Height, req.FPS
	if w <= 0 {
		w = defaultWidth
	}
	if h <= 0 {
		h = defaultHeight
	}
	if fps <= 0 {
		fps = defaultFPS
	}
	// The mark needs two pixels per cell column to be readable at all.
	w = max(2*markCols, min(w, maxWidth)) &^ 1
	h = max(4*markRows, min(h, maxHeight)) &^ 1
	return w, h, min(fps, maxFPS)
}

// ReadFrame blocks until the next frame is due and returns it. Data is the
// camera's own buffer, valid until the next ReadFrame. Frames missed because
// the reader was late are skipped (Seq jumps) and counted by Dropped.
func (p *Pattern) ReadFrame() (hw.VideoFrame, error) {
	n, due, err := p.clock.wait("read frame", p.info.ID)
	if err != nil {
		return hw.VideoFrame{}, err
	}
	f := p.Frame(n)
	f.Captured = due
	return f, nil
}

// Frame draws frame n now, without waiting for its time, in the camera's
// format; Captured is zero. Benchmarks use it to encode the pattern a call
// sends, and to write it to a file another program plays. The returned data
// is the camera's own buffer, valid until the next Frame or ReadFrame.
func (p *Pattern) Frame(n uint64) hw.VideoFrame {
	p.draw(n)
	data := p.i420
	if p.format == hw.FormatYUYV {
		i420ToYUYV(p.packed, p.i420, p.width, p.height)
		data = p.packed
	}
	return hw.VideoFrame{Format: p.format, Width: p.width, Height: p.height, Data: data, Seq: n}
}

// rampRow is the luma ramp (black to white, wrapping) from every start
// level for a row of any width the pattern draws: a row is one copy.
var rampRow = func() []byte {
	const ramp = lumaWhite - lumaBlack
	b := make([]byte, ramp+maxWidth)
	for i := range b {
		b[i] = byte(lumaBlack + i%ramp)
	}
	return b
}()

// draw renders frame n into p.i420.
func (p *Pattern) draw(n uint64) {
	w, h := p.width, p.height
	yp, up, vp := p.i420[:w*h], p.i420[w*h:w*h*5/4], p.i420[w*h*5/4:]
	band := markBandHeight(w, h)
	const ramp = lumaWhite - lumaBlack
	shift := int(n*4%ramp) + int(p.id) // the id offsets the ramp: patterns differ in shape too
	barW := max(2, w/16)
	barX := int(n * 6 % uint64(w))
	for row := band; row < h; row++ {
		line := yp[row*w : row*w+w]
		v := (2*row + shift) % ramp
		copy(line, rampRow[v:v+w]) // the ramp from level v, wrapping
		fill(line[barX:min(barX+barW, w)], lumaWhite)
	}
	DrawMark(yp, w, w, h, uint32(n), p.id)
	cw, ch, cband := w/2, h/2, (band+1)/2
	for row := range ch {
		us, vs := up[row*cw:row*cw+cw], vp[row*cw:row*cw+cw]
		u, v := byte(128), byte(128) // the band stays grey: black and white cells
		if row >= cband {
			// A gentle vertical drift of the tint, so chroma is not flat.
			d := byte(row * 32 / ch)
			u, v = p.u-16+d, p.v+16-d
		}
		fill(us, u)
		fill(vs, v)
	}
}

// i420ToYUYV packs an I420 frame into YUYV (Y0 U Y1 V per pixel pair), the
// layout most USB webcams deliver.
func i420ToYUYV(dst, src []byte, w, h int) {
	cw := w / 2
	yp, up, vp := src[:w*h], src[w*h:w*h*5/4], src[w*h*5/4:]
	for row := range h {
		ys, us, vs := yp[row*w:row*w+w], up[row/2*cw:row/2*cw+cw], vp[row/2*cw:row/2*cw+cw]
		out := dst[row*w*2 : row*w*2+w*2]
		for x := range cw {
			out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = ys[2*x], us[x], ys[2*x+1], vs[x]
		}
	}
}

// Info describes the camera; Synthetic is true and Path is empty.
func (p *Pattern) Info() hw.CameraInfo { return p.info }

// Dropped counts frames skipped because the reader fell behind.
func (p *Pattern) Dropped() uint64 { return p.clock.dropped.Load() }

// Close unblocks a pending ReadFrame; later ReadFrames return an error
// wrapping hw.ErrClosed. Close is idempotent.
func (p *Pattern) Close() error {
	p.clock.close()
	return nil
}

// String names the camera in logs.
func (p *Pattern) String() string {
	return fmt.Sprintf("%s %dx%d %s", p.info.ID, p.width, p.height, p.format)
}
