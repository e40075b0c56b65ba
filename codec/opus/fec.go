package opus

// HasFEC reports whether the Opus packet carries in-band FEC (SILK's LBRR
// data) for the frame before it. libopus' FEC decode of a packet without
// it silently conceals instead (PLC), so a receiver that wants to count
// what FEC rebuilt, or skip a pointless call, asks first. It reads the
// packet as RFC 6716 lays it out: the TOC byte (§3.1), the first frame's
// place in the packet (§3.2), and the header bits at the start of that
// frame's SILK layer (§4.2.3–4.2.4): per channel, one VAD flag per SILK
// frame, then the LBRR flag. Those bits are coded with equal
// probabilities, so they are the first byte's leading bits. CELT-only
// packets carry no LBRR.
func HasFEC(pkt []byte) bool {
	if len(pkt) < 2 {
		return false
	}
	toc := pkt[0]
	config := toc >> 3
	if config >= 16 { // CELT only
		return false
	}
	var ms int
	if config < 12 { // SILK only: 10, 20, 40, 60 ms
		ms = [4]int{10, 20, 40, 60}[config%4]
	} else { // hybrid: 10, 20 ms
		ms = [2]int{10, 20}[config%2]
	}
	silkFrames := max(ms/20, 1) // SILK frames of 20 ms (one of 10 ms)
	channels := 1
	if toc&0x04 != 0 {
		channels = 2
	}
	first, size, ok := firstFrame(pkt)
	if !ok || size <= 1 {
		return false
	}
	b := pkt[first]
	for ch := range channels {
		bit := (ch+1)*(silkFrames+1) - 1 // after this channel's VAD flags
		if b&(0x80>>bit) != 0 {
			return true
		}
	}
	return false
}

// firstFrame returns the offset and size of the packet's first frame
// (RFC 6716 §3.2).
func firstFrame(pkt []byte) (off, size int, ok bool) {
	n := len(pkt)
	switch pkt[0] & 0x03 {
	case 0: // one frame
		return 1, n - 1, true
	case 1: // two frames of equal size
		if (n-1)%2 != 0 {
			return 0, 0, false
		}
		return 1, (n - 1) / 2, true
	case 2: // two frames, the first's size given
		size, used, ok := frameLength(pkt[1:])
		if !ok || 1+used+size > n {
			return 0, 0, false
		}
		return 1 + used, size, true
	}
	// Code 3: a count byte, optional padding, and (VBR) all sizes but the
	// last before the frames.
	if n < 2 {
		return 0, 0, false
	}
	count := int(pkt[1] & 0x3f)
	vbr, padded := pkt[1]&0x80 != 0, pkt[1]&0x40 != 0
	if count == 0 {
		return 0, 0, false
	}
	off = 2
	pad := 0
	for padded {
		if off >= n {
			return 0, 0, false
		}
		v := int(pkt[off])
		off++
		if v == 255 {
			pad += 254
		} else {
			pad += v
			padded = false
		}
	}
	if !vbr {
		data := n - off - pad
		if data < 0 || data%count != 0 {
			return 0, 0, false
		}
		return off, data / count, true
	}
	for i := 0; i < count-1; i++ {
		s, used, ok := frameLength(pkt[off:])
		if !ok {
			return 0, 0, false
		}
		if i == 0 {
			size = s
		}
		off += used
	}
	if count == 1 {
		size = n - off - pad
	}
	if size < 0 || off+size > n-pad {
		return 0, 0, false
	}
	return off, size, true
}

// frameLength decodes a frame length (RFC 6716 §3.2.1): one byte below
// 252, else two.
func frameLength(b []byte) (size, used int, ok bool) {
	if len(b) < 1 {
		return 0, 0, false
	}
	if b[0] < 252 {
		return int(b[0]), 1, true
	}
	if len(b) < 2 {
		return 0, 0, false
	}
	return int(b[0]) + 4*int(b[1]), 2, true
}
