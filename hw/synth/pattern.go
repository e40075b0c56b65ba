package synth

import "hash/fnv"

// The frame-number mark: a band at the top of every pattern frame that
// carries the frame number and the pattern's id as large black and white
// cells, so both can be read back from a frame that went through lossy
// compression (VP8 at a low bitrate smears edges and adds noise, but keeps
// the inside of a large flat block close to its level).
//
// Layout, in luma pixels of a width×height frame (integer division
// throughout, so the layout scales with the frame and roomd/web/framenumber.js
// computes exactly the same rectangles):
//
//	bandH      = min(markRows*width/markCols, height/2)
//	cell (r,c) = x in [c*width/markCols, (c+1)*width/markCols),
//	             y in [r*bandH/markRows, (r+1)*bandH/markRows)
//
// There are markRows = 3 rows of markCols = 18 cells (square cells; 35 px at
// 640 wide, 17 px at 320). Column 0 and column 17 are guards: column 0 is
// white, black, white from the top row down and column 17 the opposite, so a
// frame without the mark (a camera picture, a flat colour, a mirrored frame)
// fails before the checksum is even looked at. The 16 middle cells of each
// row carry 48 bits, most significant first, row by row:
//
//	bits 47..16  the frame number (uint32)
//	bits 15..8   the pattern id (PatternIDOf(name))
//	bits  7..0   CRC-8 (polynomial 0x07, init 0) of the five bytes
//	             number (big-endian) then id
//
// A white cell is a 1. A reader samples only the inner half of each cell
// (a quarter of the cell width and height in from each side), thresholds at
// mid-grey (luma ≥ 128) and takes the majority; a cell where neither level
// has at least three quarters of the samples is undecided and the read
// fails, as does a wrong guard or checksum.
const (
	markCols = 18
	markRows = 3
	markBits = markRows * (markCols - 2) // 48

	// Levels in video range (BT.601 limited), so a browser's conversion
	// to RGB maps them to 0 and 255 and the JS reader sees the same cells.
	lumaBlack  = 16
	lumaWhite  = 235
	lumaThresh = 128
)

// markCell returns the rectangle of cell (r, c) of the mark in a
// width×height frame.
func markCell(width, height, r, c int) (x0, y0, x1, y1 int) {
	bandH := min(markRows*width/markCols, height/2)
	return c * width / markCols, r * bandH / markRows, (c + 1) * width / markCols, (r + 1) * bandH / markRows
}

// markBandHeight is the number of luma rows the mark covers.
func markBandHeight(width, height int) int {
	_, _, _, y1 := markCell(width, height, markRows-1, 0)
	return y1
}

// crc8 is CRC-8 with polynomial 0x07 and initial value 0 (CRC-8/SMBUS) over
// the frame number, big-endian, and the pattern id.
func crc8(number uint32, id uint8) uint8 {
	var crc uint8
	for _, b := range [5]byte{byte(number >> 24), byte(number >> 16), byte(number >> 8), byte(number), id} {
		crc = crc8Byte(crc, b)
	}
	return crc
}

// crc8Byte feeds one byte to a CRC-8/SMBUS, most significant bit first.
func crc8Byte(crc, b uint8) uint8 {
	crc ^= b
	for range 8 {
		if crc&0x80 != 0 {
			crc = crc<<1 ^ 0x07
		} else {
			crc <<= 1
		}
	}
	return crc
}

// markPayload is the 48-bit payload the mark carries.
func markPayload(number uint32, id uint8) uint64 {
	return uint64(number)<<16 | uint64(id)<<8 | uint64(crc8(number, id))
}

// guardWhite reports the colour of guard column c (0 or markCols-1) in row r.
func guardWhite(r, c int) bool {
	return (r%2 == 0) == (c == 0)
}

// DrawMark paints the mark for number and a pattern id into a luma plane
// (stride bytes a row) over whatever is there: the pattern camera draws it
// into each frame, and tests draw chosen numbers (0, 2³²-1) into frames of
// their own, e.g. to check another reader against this one. It draws
// nothing and returns false when the plane is too small to hold a mark.
func DrawMark(y []byte, stride, width, height int, number uint32, id uint8) bool {
	if !markFits(len(y), stride, width, height) {
		return false
	}
	bits := markPayload(number, id)
	i := 0
	for r := range markRows {
		for c := range markCols {
			var white bool
			if c == 0 || c == markCols-1 {
				white = guardWhite(r, c)
			} else {
				white = bits>>(markBits-1-i)&1 == 1
				i++
			}
			level := byte(lumaBlack)
			if white {
				level = lumaWhite
			}
			x0, y0, x1, y1 := markCell(width, height, r, c)
			fill(y[y0*stride+x0:y0*stride+x1], level)
			for row := y0 + 1; row < y1; row++ {
				copy(y[row*stride+x0:row*stride+x1], y[y0*stride+x0:y0*stride+x1])
			}
		}
	}
	return true
}

// fill sets every byte of b to v, doubling a filled prefix with copy (a
// memmove the runtime vectorizes; a byte loop is not): the pattern camera
// fills about 150 KB a 640x480 frame.
func fill(b []byte, v byte) {
	if len(b) == 0 {
		return
	}
	b[0] = v
	for n := 1; n < len(b); n *= 2 {
		copy(b[n:], b[:n])
	}
}

// markFits reports whether a luma plane of n bytes is big enough for the
// frame it claims to be, and the frame big enough for a mark (two pixels a
// cell column, four rows a cell row).
func markFits(n, stride, width, height int) bool {
	return width >= 2*markCols && height >= 4*markRows && stride >= width && n >= (height-1)*stride+width
}

// readCell decides the level of one cell from its inner pixels.
func readCell(y []byte, stride, x0, y0, x1, y1 int) (white, sure bool) {
	dx, dy := (x1-x0)/4, (y1-y0)/4
	var n, lit int
	for row := y0 + dy; row < y1-dy; row++ {
		for _, v := range y[row*stride+x0+dx : row*stride+x1-dx] {
			n++
			if v >= lumaThresh {
				lit++
			}
		}
	}
	if n == 0 {
		return false, false
	}
	return 2*lit > n, 4*lit >= 3*n || 4*lit <= n
}

// readMark reads the mark from a luma plane; ok is false when the frame is
// too small, a cell is undecided, a guard is wrong or the checksum fails.
func readMark(y []byte, stride, width, height int) (number uint32, id uint8, ok bool) {
	if !markFits(len(y), stride, width, height) {
		return 0, 0, false
	}
	var bits uint64
	for r := range markRows {
		for c := range markCols {
			x0, y0, x1, y1 := markCell(width, height, r, c)
			white, sure := readCell(y, stride, x0, y0, x1, y1)
			if !sure {
				return 0, 0, false
			}
			if c == 0 || c == markCols-1 {
				if white != guardWhite(r, c) {
					return 0, 0, false
				}
				continue
			}
			bits <<= 1
			if white {
				bits |= 1
			}
		}
	}
	number, id = uint32(bits>>16), uint8(bits>>8)
	if crc8(number, id) != uint8(bits) {
		return 0, 0, false
	}
	return number, id, true
}

// ReadFrameNumber reads the frame number a pattern camera drew into a frame,
// from its luma plane (the Y plane of I420, or of any decoded frame, with
// the given stride). It is robust to compression noise and blur; ok is false
// when the frame carries no readable mark.
func ReadFrameNumber(y []byte, stride, width, height int) (number uint32, ok bool) {
	number, _, ok = readMark(y, stride, width, height)
	return number, ok
}

// PatternID reads which pattern a frame shows, from its luma plane: the id
// that PatternIDOf gives for the name the camera was made with. ok is false
// when the frame carries no readable mark.
func PatternID(y []byte, stride, width, height int) (id uint8, ok bool) {
	_, id, ok = readMark(y, stride, width, height)
	return id, ok
}

// PatternIDOf is the id a pattern camera named name draws into its frames:
// the FNV-1a hash of the name folded to a byte. Two names may collide (one
// chance in 256); the names voipd uses ("front", "back", "") do not.
func PatternIDOf(name string) uint8 {
	h := fnv.New32a()
	h.Write([]byte(name))
	s := h.Sum32()
	return uint8(s ^ s>>8 ^ s>>16 ^ s>>24)
}
