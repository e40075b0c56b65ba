// Package opus wraps libopus (through github.com/hraban/opus, which is cgo)
// for voipd's one audio format: 48 kHz mono, 20 ms frames, the VOIP
// application. Encoder and Decoder write into buffers the caller owns and
// allocate nothing per frame, so the media path can call them on every
// frame. libopus' negative return codes become the error kinds below in one
// function, mapError.
package opus

import (
	"errors"
	"fmt"

	hopus "github.com/hraban/opus"
)

// The one format voipd speaks (the same values as hw.SampleRate and
// hw.FrameSamples; codec imports nothing of the project but
// internal/ccall, so they are repeated here).
const (
	SampleRate   = 48000
	Channels     = 1
	FrameSamples = 960 // 20 ms
	// MaxFrameSamples is the longest frame libopus can return from one
	// packet (120 ms); a decode buffer of this size never is too small.
	MaxFrameSamples = SampleRate * 120 / 1000
	// MaxPacketBytes is the most a single Opus frame can take (RFC 6716 §3.2.1).
	MaxPacketBytes = 1275
)

// Error kinds. Every libopus failure wraps one of them; callers test with
// errors.Is.
var (
	ErrBadArg         = errors.New("opus: bad argument")
	ErrBufferTooSmall = errors.New("opus: buffer too small")
	ErrInvalidPacket  = errors.New("opus: invalid packet")
	ErrInternal       = errors.New("opus: internal error")
	ErrUnimplemented  = errors.New("opus: unimplemented")
	ErrInvalidState   = errors.New("opus: invalid state")
	ErrAllocFail      = errors.New("opus: allocation failed")
)

// mapError is the one place libopus' codes (as hraban/opus reports them)
// become voipd's error kinds. The wrapping allocates, but only on failure.
func mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	var oe hopus.Error
	if !errors.As(err, &oe) {
		// hraban/opus' own argument checks (empty buffers and the like).
		return fmt.Errorf("%s: %w: %v", op, ErrBadArg, err)
	}
	var kind error
	switch oe {
	case hopus.ErrBadArg:
		kind = ErrBadArg
	case hopus.ErrBufferTooSmall:
		kind = ErrBufferTooSmall
	case hopus.ErrInvalidPacket:
		kind = ErrInvalidPacket
	case hopus.ErrUnimplemented:
		kind = ErrUnimplemented
	case hopus.ErrInvalidState:
		kind = ErrInvalidState
	case hopus.ErrAllocFail:
		kind = ErrAllocFail
	default:
		kind = ErrInternal
	}
	return fmt.Errorf("%s: %w (libopus %d: %v)", op, kind, int(oe), oe)
}

// Version returns libopus' version string, for logs and benchmarks.
func Version() string { return hopus.Version() }
