package fuzzmut

import "testing"

func TestMutate(t *testing.T) {
	for _, tc := range []struct {
		s    string
		pos  uint16
		c    byte
		op   uint8
		want string
	}{
		{"abc", 1, 'X', 0, "aXc"},
		{"abc", 4, 'X', 0, "aXc"}, // pos modulo the length
		{"abc", 3, 'X', 1, "abcX"},
		{"abc", 0, 'X', 1, "Xabc"},
		{"abc", 2, 0, 2, "ab"},
		{"abc", 1, 0, 5, "ac"}, // op modulo 3
		{"", 7, 'X', 0, ""},
		{"", 7, 'X', 1, "X"},
		{"", 7, 'X', 2, ""},
	} {
		if got := Mutate(tc.s, tc.pos, tc.c, tc.op); got != tc.want {
			t.Errorf("Mutate(%q, %d, %q, %d) = %q, want %q", tc.s, tc.pos, tc.c, tc.op, got, tc.want)
		}
	}
}
