package opus

import (
	"unsafe"

	hopus "github.com/hraban/opus"
)

// Decoder decodes Opus packets to 48 kHz mono PCM, and conceals lost ones.
// It is not safe for concurrent use: one decoder per incoming stream.
type Decoder struct {
	dec *hopus.Decoder
	st  unsafe.Pointer // dec's libopus state, for the short calls (short.go); nil: through hraban/opus
}

// NewDecoder creates a 48 kHz mono decoder.
func NewDecoder() (*Decoder, error) {
	dec, err := hopus.NewDecoder(SampleRate, Channels)
	if err != nil {
		return nil, mapError("opus: new decoder", err)
	}
	return &Decoder{dec: dec, st: statePointer(dec, "OpusDecoder")}, nil
}

// Decode decodes pkt into dst and returns the number of samples written.
// dst must hold the packet's whole duration (FrameSamples for voipd's own
// 20 ms packets; MaxFrameSamples for anything a peer may send).
func (d *Decoder) Decode(dst []int16, pkt []byte) (int, error) {
	if len(dst) == 0 || len(pkt) == 0 {
		return 0, ErrBadArg
	}
	if d.st != nil {
		n := decode(d.st, dst, pkt, false)
		if n < 0 {
			return 0, mapError("opus: decode", hopus.Error(n))
		}
		return n, nil
	}
	n, err := d.dec.Decode(pkt, dst[:len(dst):len(dst)])
	if err != nil {
		return 0, mapError("opus: decode", err)
	}
	return n, nil
}

// DecodeFEC recovers the frame lost just before nextPkt from nextPkt's
// in-band FEC data, filling exactly len(dst) samples (the lost frame's
// duration). When nextPkt carries no FEC data libopus conceals instead
// (PLC). Call Decode(nextPkt) afterwards as usual.
func (d *Decoder) DecodeFEC(dst []int16, nextPkt []byte) error {
	if len(dst) == 0 || len(nextPkt) == 0 {
		return ErrBadArg
	}
	// libopus takes the frame size from the buffer's capacity: it must be
	// exactly the missing duration, so cap is clamped to len.
	if d.st != nil {
		return shortError("opus: decode FEC", decode(d.st, dst, nextPkt, true))
	}
	return mapError("opus: decode FEC", d.dec.DecodeFEC(nextPkt, dst[:len(dst):len(dst)]))
}

// DecodePLC conceals one lost frame of len(dst) samples by extrapolating
// from the previous frames (packet loss concealment).
func (d *Decoder) DecodePLC(dst []int16) error {
	if len(dst) == 0 {
		return ErrBadArg
	}
	if d.st != nil {
		return shortError("opus: decode PLC", decode(d.st, dst, nil, false))
	}
	return mapError("opus: decode PLC", d.dec.DecodePLC(dst[:len(dst):len(dst)]))
}
