//go:build linux

package camera

import (
	"math"
	"slices"

	"github.com/blackjack/webcam"
	"github.com/voipd/voipd/hw"
)

// fourcc codes of the formats voipd takes, as V4L2 spells them.
const (
	fourccYUYV  webcam.PixelFormat = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	fourccNV12  webcam.PixelFormat = 'N' | 'V'<<8 | '1'<<16 | '2'<<24
	fourccMJPEG webcam.PixelFormat = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
	fourccI420  webcam.PixelFormat = 'Y' | 'U'<<8 | '1'<<16 | '2'<<24 // V4L2_PIX_FMT_YUV420
)

// formatPreference orders the formats voipd takes, best first. I420 is what
// the encoder eats (no conversion at all); NV12 and YUYV need one cheap pass
// of shuffling bytes (NV12 only de-interleaves chroma, YUYV also drops every
// other chroma row, twice the bytes over the bus); MJPEG needs a JPEG decode
// per frame, the most CPU, but it is last only among equals: at a size or
// rate a USB 2 camera cannot send uncompressed (720p at 30 fps), MJPEG is
// the only way to get it, and mode choice ranks size and rate first.
//
// Other formats (H264, RGB, Bayer, ...) are skipped when listing: voipd has
// no conversion for them, and a listed mode must be one OpenCamera can use.
var formatPreference = []struct {
	code   webcam.PixelFormat
	format hw.PixelFormat
}{
	{fourccI420, hw.FormatI420},
	{fourccNV12, hw.FormatNV12},
	{fourccYUYV, hw.FormatYUYV},
	{fourccMJPEG, hw.FormatMJPEG},
}

func formatOf(code webcam.PixelFormat) (hw.PixelFormat, bool) {
	for _, p := range formatPreference {
		if p.code == code {
			return p.format, true
		}
	}
	return "", false
}

func codeOf(f hw.PixelFormat) webcam.PixelFormat {
	for _, p := range formatPreference {
		if p.format == f {
			return p.code
		}
	}
	return 0
}

func rank(f hw.PixelFormat) int {
	for i, p := range formatPreference {
		if p.format == f {
			return i
		}
	}
	return len(formatPreference)
}

// commonSizes are offered for a stepwise (or continuous) size range: the
// sizes conferencing uses, within the range and on its steps.
var commonSizes = [][2]int{
	{160, 120}, {320, 240}, {352, 288}, {640, 360}, {640, 480},
	{800, 600}, {960, 540}, {1024, 768}, {1280, 720}, {1920, 1080},
}

// commonRates are offered for a stepwise frame-interval range.
var commonRates = []int{5, 10, 15, 20, 24, 25, 30, 50, 60}

// sizesOf expands the driver's frame sizes to concrete ones.
func sizesOf(list []webcam.FrameSize) [][2]int {
	var out [][2]int
	add := func(w, h int) {
		if w > 0 && h > 0 && !slices.Contains(out, [2]int{w, h}) {
			out = append(out, [2]int{w, h})
		}
	}
	for _, s := range list {
		if s.StepWidth == 0 && s.StepHeight == 0 {
			add(int(s.MaxWidth), int(s.MaxHeight))
			continue
		}
		for _, c := range commonSizes {
			w, h := uint32(c[0]), uint32(c[1])
			if w >= s.MinWidth && w <= s.MaxWidth && h >= s.MinHeight && h <= s.MaxHeight &&
				(w-s.MinWidth)%s.StepWidth == 0 && (h-s.MinHeight)%max(s.StepHeight, 1) == 0 {
				add(c[0], c[1])
			}
		}
		add(int(s.MaxWidth), int(s.MaxHeight))
	}
	slices.SortFunc(out, func(a, b [2]int) int { return a[0]*a[1] - b[0]*b[1] })
	return out
}

// ratesOf expands the driver's frame intervals (seconds per frame) to whole
// frame rates, ascending.
func ratesOf(list []webcam.FrameRate) []int {
	var out []int
	add := func(fps int) {
		if fps > 0 && !slices.Contains(out, fps) {
			out = append(out, fps)
		}
	}
	for _, r := range list {
		if r.MinNumerator == 0 {
			continue
		}
		if r.StepNumerator == 0 && r.StepDenominator == 0 {
			add(int(math.Round(float64(r.MinDenominator) / float64(r.MinNumerator))))
			continue
		}
		// Stepwise: Min and Max are intervals, so the shortest interval
		// (Min) is the highest rate.
		hi := float64(r.MinDenominator) / float64(r.MinNumerator)
		lo := float64(r.MaxDenominator) / float64(max(r.MaxNumerator, 1))
		for _, fps := range commonRates {
			if float64(fps) >= lo-0.01 && float64(fps) <= hi+0.01 {
				add(fps)
			}
		}
	}
	slices.Sort(out)
	return out
}

// modesOf lists a device's usable modes, best format first, small to large.
func modesOf(d device) []hw.VideoFormat {
	codes := d.Formats()
	var out []hw.VideoFormat
	for _, p := range formatPreference {
		if !slices.Contains(codes, p.code) {
			continue
		}
		for _, s := range sizesOf(d.Sizes(p.code)) {
			out = append(out, hw.VideoFormat{Format: p.format, Width: s[0], Height: s[1], FPS: ratesOf(d.Rates(p.code, s[0], s[1]))})
		}
	}
	return out
}

// mode is one concrete choice: a format at a size and a rate (0: the
// driver lists none, so none is set).
type mode struct {
	format        hw.PixelFormat
	width, height int
	fps           int
}

// chooseMode picks the mode closest to req, ranking, in order: the size
// error (|Δw|+|Δh|), how far the rate falls short of the request, the
// format's preference, and how far the rate overshoots. A shortfall in rate
// outranks the format because a camera that cannot deliver the frame rate
// asked for is worse than one that needs a JPEG decode.
func chooseMode(modes []hw.VideoFormat, req hw.CameraRequest) (mode, bool) {
	var best mode
	var bestKey [4]int
	found := false
	for _, m := range modes {
		fps := pickRate(m.FPS, req.FPS)
		short, over := 0, 0
		if fps > 0 {
			short, over = max(0, req.FPS-fps), max(0, fps-req.FPS)
		}
		key := [4]int{abs(m.Width-req.Width) + abs(m.Height-req.Height), short, rank(m.Format), over}
		if !found || slices.Compare(key[:], bestKey[:]) < 0 {
			best, bestKey, found = mode{m.Format, m.Width, m.Height, fps}, key, true
		}
	}
	return best, found
}

// pickRate is the lowest listed rate that meets want, else the highest.
func pickRate(rates []int, want int) int {
	for _, r := range rates { // ascending
		if r >= want {
			return r
		}
	}
	if len(rates) == 0 {
		return 0
	}
	return rates[len(rates)-1]
}

func abs(x int) int { return max(x, -x) }
