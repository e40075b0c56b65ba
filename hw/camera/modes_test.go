//go:build linux

package camera

import (
	"errors"
	"fmt"
	"slices"
	"syscall"
	"testing"

	"github.com/blackjack/webcam"
	"github.com/voipd/voipd/hw"
)

func TestChooseMode(t *testing.T) {
	f := func(p hw.PixelFormat, w, h int, fps ...int) hw.VideoFormat {
		return hw.VideoFormat{Format: p, Width: w, Height: h, FPS: fps}
	}
	uvc := []hw.VideoFormat{
		f(hw.FormatYUYV, 640, 480, 15, 30),
		f(hw.FormatYUYV, 1280, 720, 5, 10),
		f(hw.FormatMJPEG, 640, 480, 15, 30),
		f(hw.FormatMJPEG, 1280, 720, 15, 30),
	}
	for _, tc := range []struct {
		name  string
		modes []hw.VideoFormat
		req   hw.CameraRequest
		want  mode
	}{
		{"raw wins at equal size and rate", uvc, hw.CameraRequest{Width: 640, Height: 480, FPS: 30}, mode{hw.FormatYUYV, 640, 480, 30}},
		{"MJPEG when raw cannot keep the rate", uvc, hw.CameraRequest{Width: 1280, Height: 720, FPS: 30}, mode{hw.FormatMJPEG, 1280, 720, 30}},
		{"raw when its rate suffices", uvc, hw.CameraRequest{Width: 1280, Height: 720, FPS: 10}, mode{hw.FormatYUYV, 1280, 720, 10}},
		{"lowest rate meeting the request", uvc, hw.CameraRequest{Width: 640, Height: 480, FPS: 12}, mode{hw.FormatYUYV, 640, 480, 15}},
		{"closest size", uvc, hw.CameraRequest{Width: 800, Height: 600, FPS: 30}, mode{hw.FormatYUYV, 640, 480, 30}},
		{"highest rate when none meets", uvc, hw.CameraRequest{Width: 640, Height: 480, FPS: 60}, mode{hw.FormatYUYV, 640, 480, 30}},
		{"I420 over NV12 over YUYV", []hw.VideoFormat{
			f(hw.FormatYUYV, 640, 480, 30), f(hw.FormatNV12, 640, 480, 30), f(hw.FormatI420, 640, 480, 30),
		}, hw.CameraRequest{Width: 640, Height: 480, FPS: 30}, mode{hw.FormatI420, 640, 480, 30}},
		{"no rates listed", []hw.VideoFormat{f(hw.FormatNV12, 640, 480)}, hw.CameraRequest{Width: 640, Height: 480, FPS: 30}, mode{hw.FormatNV12, 640, 480, 0}},
	} {
		got, ok := chooseMode(tc.modes, tc.req)
		if !ok || got != tc.want {
			t.Errorf("%s: chose %+v, %v; want %+v", tc.name, got, ok, tc.want)
		}
	}
	if _, ok := chooseMode(nil, hw.CameraRequest{Width: 640, Height: 480, FPS: 30}); ok {
		t.Error("chose a mode from none")
	}
}

func TestSizesOf(t *testing.T) {
	got := sizesOf([]webcam.FrameSize{
		discrete(640, 480),
		discrete(640, 480), // drivers repeat themselves
		{},                 // continuous: blackjack/webcam leaves it zero
		{MinWidth: 320, MaxWidth: 1280, StepWidth: 16, MinHeight: 240, MaxHeight: 720, StepHeight: 8},
	})
	// 960x540 is off the 8-row height step from 240 (300 rows on), 1024x768
	// is too tall, 160x120 too small, 1920x1080 too large.
	want := [][2]int{{320, 240}, {352, 288}, {640, 360}, {640, 480}, {800, 600}, {1280, 720}}
	if !slices.Equal(got, want) {
		t.Fatalf("sizes\n got %v\nwant %v", got, want)
	}
}

func TestRatesOf(t *testing.T) {
	got := ratesOf([]webcam.FrameRate{
		interval(30), interval(15), interval(30),
		{MinNumerator: 1001, MinDenominator: 30000, MaxNumerator: 1001, MaxDenominator: 30000}, // 29.97
		{}, // continuous: not enumerated
	})
	if want := []int{15, 30}; !slices.Equal(got, want) {
		t.Fatalf("discrete rates %v, want %v", got, want)
	}
	// Stepwise intervals from 1/60 s (Min) to 1/5 s (Max).
	got = ratesOf([]webcam.FrameRate{{MinNumerator: 1, MinDenominator: 60, MaxNumerator: 1, MaxDenominator: 5, StepNumerator: 1, StepDenominator: 60}})
	if want := commonRates; !slices.Equal(got, want) {
		t.Fatalf("stepwise rates %v, want %v", got, want)
	}
}

func TestFormatCodes(t *testing.T) {
	// The fourcc spellings V4L2 uses (videodev2.h v4l2_fourcc).
	for code, want := range map[webcam.PixelFormat]string{fourccYUYV: "YUYV", fourccNV12: "NV12", fourccMJPEG: "MJPG", fourccI420: "YU12"} {
		if got := string([]byte{byte(code), byte(code >> 8), byte(code >> 16), byte(code >> 24)}); got != want {
			t.Errorf("fourcc %#x spells %q, want %q", uint32(code), got, want)
		}
		f, ok := formatOf(code)
		if !ok || codeOf(f) != code {
			t.Errorf("%s does not round-trip", want)
		}
	}
	if _, ok := formatOf(fourccH264); ok {
		t.Error("H264 taken as a supported format")
	}
}

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{syscall.EBUSY, hw.ErrBusy},
		{syscall.ENOENT, hw.ErrAbsent},
		{syscall.ENODEV, hw.ErrAbsent},
		{syscall.ENXIO, hw.ErrAbsent},
		{syscall.EACCES, hw.ErrPermission},
		{syscall.EPERM, hw.ErrPermission},
		{syscall.EINVAL, hw.ErrInvalid},
		{syscall.EIO, hw.ErrUnavailable},
		{syscall.ENOTTY, hw.ErrUnavailable},
		{fmt.Errorf("open /dev/video0: %w", syscall.EBUSY), hw.ErrBusy},
		{errors.New("Failed to map request buffers: device or resource busy"), hw.ErrBusy},
		{errors.New("Failed to start streaming: no such device"), hw.ErrAbsent},
		{errors.New("Failed to enqueue buffer: invalid argument"), hw.ErrInvalid},
		{errNotCapture, hw.ErrInvalid},
		{errWaitTimeout, hw.ErrUnavailable},
		{&hw.DeviceError{Kind: hw.ErrClosed}, hw.ErrClosed},
		{errors.New("something else"), hw.ErrUnavailable},
	} {
		de := deviceError("op", "dev", tc.err)
		if !errors.Is(de, tc.want) || !errors.Is(de, tc.err) {
			t.Errorf("deviceError(%v) = %v, want kind %v wrapping the cause", tc.err, de, tc.want)
		}
	}
}
