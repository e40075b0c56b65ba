package opus

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/voipd/voipd/internal/syscalltrace"
)

// TestShortCallsInUse: the encoder and decoder found hraban/opus' libopus
// state, so their per-frame calls go through internal/ccall. If a later
// hraban/opus moved it, this fails (the calls would still work, as cgo).
func TestShortCallsInUse(t *testing.T) {
	if e := mustEncoder(t, DefaultEncoderParams()); e.st == nil {
		t.Error("the encoder's libopus state was not found: hraban/opus' Encoder changed shape")
	}
	if d := mustDecoder(t); d.st == nil {
		t.Error("the decoder's libopus state was not found: hraban/opus' Decoder changed shape")
	}
}

// TestShortCallsMatchHraban: the short calls act on hraban/opus' own
// state: an encoder and decoder on them produce the same bytes and samples,
// frame by frame, as a pair going through hraban/opus, across a bitrate
// change and a loss percentage set through hraban/opus' setters, DTX
// silence, a lost packet concealed and one recovered from FEC.
func TestShortCallsMatchHraban(t *testing.T) {
	p := DefaultEncoderParams()
	fast, slow := mustEncoder(t, p), mustEncoder(t, p)
	slow.st = nil
	fdec, sdec := mustDecoder(t), mustDecoder(t)
	sdec.st = nil
	pcm := make([]int16, FrameSamples)
	fb, sb := make([]byte, MaxPacketBytes), make([]byte, MaxPacketBytes)
	fout, sout := make([]int16, MaxFrameSamples), make([]int16, MaxFrameSamples)
	var phase float64
	dtx := 0
	for i := range 150 {
		switch {
		case i >= 100 && i < 120: // silence: DTX
			clear(pcm)
		default:
			phase = sine(pcm, 440+float64(i), 8000, phase)
		}
		if i == 40 {
			for _, e := range []*Encoder{fast, slow} {
				if err := e.SetBitrate(16000); err != nil {
					t.Fatal(err)
				}
				if err := e.SetPacketLossPerc(30); err != nil {
					t.Fatal(err)
				}
			}
		}
		fn, ferr := fast.Encode(fb, pcm)
		sn, serr := slow.Encode(sb, pcm)
		if ferr != nil || serr != nil || !bytes.Equal(fb[:fn], sb[:sn]) {
			t.Fatalf("frame %d: short call %d bytes (%v), hraban/opus %d (%v), or the bytes differ", i, fn, ferr, sn, serr)
		}
		if fast.InDTX() != slow.InDTX() {
			t.Fatalf("frame %d: InDTX %v against hraban/opus' %v", i, fast.InDTX(), slow.InDTX())
		}
		if fast.InDTX() {
			dtx++
		}
		var fk, sk int
		var fe, se error
		switch i % 10 {
		case 3: // lost: concealed
			fe, se = fdec.DecodePLC(fout[:FrameSamples]), sdec.DecodePLC(sout[:FrameSamples])
			fk, sk = FrameSamples, FrameSamples
		case 4: // the lost one from this one's FEC, then this one
			fe, se = fdec.DecodeFEC(fout[:FrameSamples], fb[:fn]), sdec.DecodeFEC(sout[:FrameSamples], sb[:sn])
			if fe == nil && !slices.Equal(fout[:FrameSamples], sout[:FrameSamples]) {
				t.Fatalf("frame %d: FEC samples differ", i)
			}
			fallthrough
		default:
			fk, fe = fdec.Decode(fout, fb[:fn])
			sk, se = sdec.Decode(sout, sb[:sn])
		}
		if fe != nil || se != nil || fk != sk || !slices.Equal(fout[:fk], sout[:sk]) {
			t.Fatalf("frame %d: decoded %d (%v) against hraban/opus' %d (%v), or the samples differ", i, fk, fe, sk, se)
		}
	}
	if dtx == 0 {
		t.Error("no frame in DTX: the silence did not test InDTX")
	}
}

// TestShortCallErrors: libopus' codes through the short calls become the
// same error kinds as through hraban/opus.
func TestShortCallErrors(t *testing.T) {
	e := mustEncoder(t, DefaultEncoderParams())
	pcm := make([]int16, 100) // not a valid Opus frame length
	if _, err := e.Encode(make([]byte, MaxPacketBytes), pcm); !errors.Is(err, ErrBadArg) {
		t.Errorf("encode of 100 samples: %v, want ErrBadArg", err)
	}
	d := mustDecoder(t)
	if _, err := d.Decode(make([]int16, FrameSamples), []byte{0xff, 0xff, 0xff}); !errors.Is(err, ErrInvalidPacket) {
		t.Errorf("decode of garbage: %v, want ErrInvalidPacket", err)
	}
	pkts := encodeTone(t, mustEncoder(t, DefaultEncoderParams()), 440, 1)
	if _, err := d.Decode(make([]int16, 10), pkts[0]); !errors.Is(err, ErrBufferTooSmall) {
		t.Errorf("decode into 10 samples: %v, want ErrBufferTooSmall", err)
	}
}

// TestShortCallsNoSyscallState: a frame's encode, decode, concealment and
// FEC enter no syscall state (the point of the short calls: each entry
// after the process went idle wakes the runtime's monitor thread).
func TestShortCallsNoSyscallState(t *testing.T) {
	e, d := mustEncoder(t, DefaultEncoderParams()), mustDecoder(t)
	pcm := make([]int16, FrameSamples)
	sine(pcm, 440, 8000, 0)
	pkt, out := make([]byte, MaxPacketBytes), make([]int16, MaxFrameSamples)
	var failed error
	if n := syscalltrace.Entries(t, func() {
		for range 20 {
			n, err := e.Encode(pkt, pcm)
			_ = e.InDTX()
			if err == nil {
				_, err = d.Decode(out, pkt[:n])
			}
			if err == nil {
				err = d.DecodePLC(out[:FrameSamples])
			}
			if err == nil {
				err = d.DecodeFEC(out[:FrameSamples], pkt[:n])
			}
			if err != nil {
				failed = err
			}
		}
	}); n != 0 {
		t.Errorf("%d syscall-state entries in 20 frames, want 0", n)
	}
	if failed != nil {
		t.Fatal(failed)
	}
}
