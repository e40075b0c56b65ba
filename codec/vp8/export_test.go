package vp8

// Hooks for the external tests (tokens_ext_test.go): the token buffer's
// release is internal, but its tests need codectest, which imports vp8.

func NewEncoderKeepingTokens(p EncoderParams) (*Encoder, error) { return newEncoder(p, false) }

func (enc *Encoder) TokenRelease() (n int, at uintptr) { return enc.released, enc.releasedAt }

func ResidentPages(lo, hi uintptr) int { return residentPages(lo, hi) }

func TokenBufferBounds(w, h int) (lo, hi int) { return tokenBufferBounds(w, h) }
