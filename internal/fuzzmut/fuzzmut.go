// Package fuzzmut helps fuzz targets mutate valid inputs: the verifier
// targets (join signatures, resume tickets, tokens) let the fuzzer steer
// one change to a credential made valid in the test, and require that no
// such change verifies.
package fuzzmut

// Mutate changes s at pos (taken modulo its length) as op says (modulo
// 3): 0 replaces the byte there with c, 1 inserts c before it, 2 deletes
// it. s itself is never modified.
func Mutate(s string, pos uint16, c byte, op uint8) string {
	b := []byte(s)
	switch op % 3 {
	case 0:
		if len(b) > 0 {
			b[int(pos)%len(b)] = c
		}
	case 1:
		i := int(pos) % (len(b) + 1)
		b = append(b[:i], append([]byte{c}, b[i:]...)...)
	case 2:
		if len(b) > 0 {
			i := int(pos) % len(b)
			b = append(b[:i], b[i+1:]...)
		}
	}
	return string(b)
}
