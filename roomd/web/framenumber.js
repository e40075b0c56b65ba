// framenumber.js reads the frame-number mark that voipd's synthetic pattern
// camera (hw/synth, "pattern:NAME") draws at the top of every frame, from a
// decoded frame drawn on a canvas. Browser tests use it to tell which frame
// (and which camera) a remote video element shows after VP8 went through.
//
// It mirrors hw/synth/pattern.go exactly; keep the two in step. The layout,
// with integer division (Math.floor) so it scales with the frame as in Go:
//
//   bandH      = min(floor(3*width/18), floor(height/2))
//   cell (r,c) = x in [floor(c*width/18), floor((c+1)*width/18)),
//                y in [floor(r*bandH/3), floor((r+1)*bandH/3))
//
// 3 rows of 18 cells; column 0 is white, black, white (top down) and column
// 17 the opposite; the 16 middle cells of each row carry 48 bits, most
// significant first: the frame number (32 bits), the pattern id (8 bits) and
// a CRC-8/SMBUS (poly 0x07, init 0) of the number's 4 big-endian bytes and
// the id. A white cell is a 1. Each cell is decided from its inner half
// (a quarter of its size in from each side) by majority of luma >= 128; a
// cell without a 3/4 majority, a wrong guard or a bad CRC means no mark.

const COLS = 18;
const ROWS = 3;
const THRESH = 128;

function cell(width, height, r, c) {
  const bandH = Math.min(Math.floor(ROWS * width / COLS), Math.floor(height / 2));
  return [
    Math.floor(c * width / COLS), Math.floor(r * bandH / ROWS),
    Math.floor((c + 1) * width / COLS), Math.floor((r + 1) * bandH / ROWS),
  ];
}

// luma is BT.601 luma of an RGBA pixel, the inverse of the browser's
// conversion of the decoded frame (full-range RGB).
function luma(d, i) {
  return 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
}

// readCell returns 1 (white), 0 (black) or -1 (undecided).
function readCell(img, x0, y0, x1, y1) {
  const dx = Math.floor((x1 - x0) / 4), dy = Math.floor((y1 - y0) / 4);
  let n = 0, lit = 0;
  for (let y = y0 + dy; y < y1 - dy; y++) {
    for (let x = x0 + dx; x < x1 - dx; x++) {
      n++;
      if (luma(img.data, (y * img.width + x) * 4) >= THRESH) lit++;
    }
  }
  if (n === 0) return -1;
  if (4 * lit >= 3 * n) return 1;
  if (4 * lit <= n) return 0;
  return -1;
}

function crc8(bytes) {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) {
      crc = crc & 0x80 ? ((crc << 1) ^ 0x07) & 0xff : (crc << 1) & 0xff;
    }
  }
  return crc;
}

// readMark returns {frame, pattern} or null.
export function readMark(img) {
  const { width, height } = img;
  if (width < 2 * COLS || height < 4 * ROWS || img.data.length < width * height * 4) return null;
  const bits = [];
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c++) {
      const v = readCell(img, ...cell(width, height, r, c));
      if (v < 0) return null;
      if (c === 0 || c === COLS - 1) {
        const white = (r % 2 === 0) === (c === 0);
        if ((v === 1) !== white) return null;
        continue;
      }
      bits.push(v);
    }
  }
  const bytes = [];
  for (let i = 0; i < bits.length; i += 8) {
    let b = 0;
    for (let j = 0; j < 8; j++) b = (b << 1) | bits[i + j];
    bytes.push(b);
  }
  if (crc8(bytes.slice(0, 5)) !== bytes[5]) return null;
  const frame = ((bytes[0] << 24) >>> 0) + (bytes[1] << 16) + (bytes[2] << 8) + bytes[3];
  return { frame, pattern: bytes[4] };
}

// readFrameNumber returns the frame number in imageData (RGBA, as from a
// canvas' getImageData), or null when it carries no readable mark.
export function readFrameNumber(imageData) {
  const m = readMark(imageData);
  return m ? m.frame : null;
}

// readPatternID returns which pattern imageData shows (hw/synth's
// PatternIDOf(name)), or null when it carries no readable mark.
export function readPatternID(imageData) {
  const m = readMark(imageData);
  return m ? m.pattern : null;
}
