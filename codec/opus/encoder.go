package opus

import (
	"fmt"
	"unsafe"

	hopus "github.com/hraban/opus"
)

// The values of DefaultEncoderParams.
const (
	DefaultBitrate        = 32000 // bit/s: wideband speech with room for in-band FEC
	DefaultPacketLossPerc = 10    // the loss the encoder protects against with FEC
	DefaultComplexity     = 10    // libopus' own default at 48 kHz
)

// EncoderParams configures an Encoder. Every value is used as it is — a
// zero is a zero, never "the default" — so that a caller's explicit 0 %
// loss or complexity 0 means what it says: start from
// DefaultEncoderParams.
type EncoderParams struct {
	// Bitrate in bit/s, 6000..510000.
	Bitrate int
	// FEC turns on Opus in-band forward error correction (LBRR): each
	// packet carries a coarse copy of the previous frame, which the
	// receiver decodes when that frame was lost.
	FEC bool
	// DTX turns on discontinuous transmission: during silence libopus
	// emits 1–2 byte packets that the packetiser does not send.
	DTX bool
	// PacketLossPerc is the expected loss in percent (0..100); it sizes the
	// FEC data.
	PacketLossPerc int
	// Complexity 0..10 trades CPU for quality.
	Complexity int
}

// DefaultEncoderParams is 32 kbit/s with FEC for 10 % loss, DTX, and
// libopus' default complexity.
func DefaultEncoderParams() EncoderParams {
	return EncoderParams{Bitrate: DefaultBitrate, FEC: true, DTX: true, PacketLossPerc: DefaultPacketLossPerc, Complexity: DefaultComplexity}
}

// Encoder encodes 20 ms frames of 48 kHz mono PCM to Opus packets.
// It is not safe for concurrent use.
type Encoder struct {
	enc *hopus.Encoder
	st  unsafe.Pointer // enc's libopus state, for the short calls (short.go); nil: through hraban/opus
	// inDTX is OPUS_GET_IN_DTX as read after the last short-call encode:
	// 1 or 0; -1 unknown (no frame yet, or the ctl failed).
	inDTX int
}

// NewEncoder creates an encoder for 48 kHz mono with the VOIP application.
func NewEncoder(p EncoderParams) (*Encoder, error) {
	if p.Bitrate < 6000 || p.Bitrate > 510000 {
		return nil, fmt.Errorf("opus: bitrate %d: %w (want 6000..510000)", p.Bitrate, ErrBadArg)
	}
	if p.PacketLossPerc < 0 || p.PacketLossPerc > 100 {
		return nil, fmt.Errorf("opus: packet loss %d%%: %w (want 0..100)", p.PacketLossPerc, ErrBadArg)
	}
	if p.Complexity < 0 || p.Complexity > 10 {
		return nil, fmt.Errorf("opus: complexity %d: %w (want 0..10)", p.Complexity, ErrBadArg)
	}
	enc, err := hopus.NewEncoder(SampleRate, Channels, hopus.AppVoIP)
	if err != nil {
		return nil, mapError("opus: new encoder", err)
	}
	if err := enc.SetBitrate(p.Bitrate); err != nil {
		return nil, mapError("opus: set bitrate", err)
	}
	if err := enc.SetInBandFEC(p.FEC); err != nil {
		return nil, mapError("opus: set FEC", err)
	}
	if err := enc.SetDTX(p.DTX); err != nil {
		return nil, mapError("opus: set DTX", err)
	}
	if err := enc.SetPacketLossPerc(p.PacketLossPerc); err != nil {
		return nil, mapError("opus: set packet loss", err)
	}
	if err := enc.SetComplexity(p.Complexity); err != nil {
		return nil, mapError("opus: set complexity", err)
	}
	return &Encoder{enc: enc, st: statePointer(enc, "OpusEncoder"), inDTX: -1}, nil
}

// Encode encodes one frame of pcm (normally FrameSamples samples) into dst
// and returns the packet's length. dst is owned by the caller; libopus
// writes at most len(dst) bytes (MaxPacketBytes always suffices). A result
// of 1 or 2 bytes with DTX on means "silence, nothing to send".
func (e *Encoder) Encode(dst []byte, pcm []int16) (int, error) {
	if len(pcm) == 0 || len(dst) == 0 {
		return 0, ErrBadArg
	}
	if e.st != nil {
		n, inDTX := encode(e.st, dst, pcm)
		e.inDTX = inDTX
		if n < 0 {
			return 0, mapError("opus: encode", hopus.Error(n))
		}
		return n, nil
	}
	// hraban/opus passes cap(data) to libopus; limit it to len(dst) so a
	// caller's sub-slice is respected.
	n, err := e.enc.Encode(pcm, dst[:len(dst):len(dst)])
	if err != nil {
		return 0, mapError("opus: encode", err)
	}
	return n, nil
}

// InDTX reports whether the encoder is currently in DTX (silence).
func (e *Encoder) InDTX() bool {
	if e.inDTX >= 0 { // read with the last frame, on the same call
		return e.inDTX == 1
	}
	in, err := e.enc.InDTX()
	return err == nil && in
}

// SetBitrate changes the target bitrate (e.g. from a receiver's estimate).
func (e *Encoder) SetBitrate(bps int) error {
	return mapError("opus: set bitrate", e.enc.SetBitrate(bps))
}

// SetPacketLossPerc changes the loss, in percent (0..100), the in-band FEC
// is sized for (e.g. from the loss receivers report).
func (e *Encoder) SetPacketLossPerc(pct int) error {
	if pct < 0 || pct > 100 {
		return fmt.Errorf("opus: packet loss %d%%: %w (want 0..100)", pct, ErrBadArg)
	}
	return mapError("opus: set packet loss", e.enc.SetPacketLossPerc(pct))
}
