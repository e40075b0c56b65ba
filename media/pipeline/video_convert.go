package pipeline

import (
	"errors"
	"fmt"

	"github.com/voipd/voipd/codec/mjpeg"
	"github.com/voipd/voipd/codec/yuv"
	"github.com/voipd/voipd/hw"
)

// errVideoFormat marks a camera format the sender cannot convert; it is
// fatal, unlike a single damaged frame.
var errVideoFormat = errors.New("unsupported pixel format")

// frameConverter turns camera frames into I420 of the encoder's size, once
// per frame, into buffers it reuses: out (the encoder's size) and, when
// the camera's size differs, native (the camera's size, scaled into out).
type frameConverter struct {
	out    yuv.I420
	native yuv.I420
	mj     *mjpeg.Decoder // created on the first MJPEG frame
}

func newFrameConverter(w, h int) *frameConverter {
	return &frameConverter{out: yuv.NewI420(w, h)}
}

// convert returns f as I420 of the encoder's size. The result is one of
// the converter's buffers, or (an I420 camera at the right size) a view of
// f.Data, valid until the next ReadFrame. Errors wrap errVideoFormat for a
// format it cannot convert, else describe a damaged frame.
func (c *frameConverter) convert(f hw.VideoFrame) (yuv.I420, error) {
	w, h := f.Width, f.Height
	if f.Format == hw.FormatMJPEG {
		if c.mj == nil {
			mj, err := mjpeg.NewDecoder()
			if err != nil {
				return yuv.I420{}, err
			}
			c.mj = mj
		}
		// The JPEG's own header is the truth about its size.
		var err error
		if w, h, _, err = c.mj.Header(f.Data); err != nil {
			return yuv.I420{}, err
		}
	}
	dst := c.out
	if w != c.out.Width || h != c.out.Height {
		if c.native.Width != w || c.native.Height != h {
			c.native = yuv.NewI420(w, h) // only when the camera's mode changes
		}
		dst = c.native
	}
	var err error
	switch f.Format {
	case hw.FormatYUYV:
		err = yuv.YUY2ToI420(dst, f.Data, 2*w)
	case hw.FormatNV12:
		err = yuv.NV12ToI420(dst, f.Data, w)
	case hw.FormatMJPEG:
		err = c.mj.Decode(dst, f.Data)
	case hw.FormatI420:
		cw, ch := yuv.ChromaSize(w, h)
		if len(f.Data) < w*h+2*cw*ch {
			return yuv.I420{}, fmt.Errorf("I420 frame %d bytes, want %d", len(f.Data), w*h+2*cw*ch)
		}
		view := yuv.I420{
			Y: f.Data[:w*h], U: f.Data[w*h : w*h+cw*ch], V: f.Data[w*h+cw*ch:],
			YStride: w, UStride: cw, VStride: cw, Width: w, Height: h,
		}
		if dst.Width == c.out.Width && dst.Height == c.out.Height {
			return view, nil // the encoder reads it before the next ReadFrame
		}
		dst = view
	default:
		return yuv.I420{}, fmt.Errorf("%w %q", errVideoFormat, f.Format)
	}
	if err != nil {
		return yuv.I420{}, err
	}
	if dst.Width != c.out.Width || dst.Height != c.out.Height {
		if err := yuv.Scale(c.out, dst); err != nil {
			return yuv.I420{}, err
		}
	}
	return c.out, nil
}

func (c *frameConverter) close() {
	if c.mj != nil {
		_ = c.mj.Close()
	}
}
