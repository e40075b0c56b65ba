package hw

import "testing"

func TestParseTone(t *testing.T) {
	tests := []struct {
		id   string
		want float64
		ok   bool
	}{
		{"tone:440", 440, true},
		{"tone:997.5", 997.5, true},
		{"tone:0", 0, false},
		{"tone:-3", 0, false},
		{"tone:24000", 0, false},
		{"tone:NaN", 0, false},
		{"tone:", 0, false},
		{"tone:abc", 0, false},
		{"default", 0, false},
		{"Tone:440", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseTone(tt.id)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseTone(%q) = %v, %v; want %v, %v", tt.id, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseClickDetect(t *testing.T) {
	for _, tt := range []struct {
		id, click, detect string
	}{
		{"click:/tmp/a.log", "/tmp/a.log", ""},
		{"detect:/tmp/b.log", "", "/tmp/b.log"},
		{"click:", "", ""},
		{"detect:", "", ""},
		{"tone:440", "", ""},
	} {
		c, cok := ParseClick(tt.id)
		d, dok := ParseDetect(tt.id)
		if c != tt.click || cok != (tt.click != "") || d != tt.detect || dok != (tt.detect != "") {
			t.Errorf("%q: ParseClick %q %v, ParseDetect %q %v", tt.id, c, cok, d, dok)
		}
	}
}

func TestParsePattern(t *testing.T) {
	for _, tt := range []struct {
		id   string
		name string
		ok   bool
	}{
		{"pattern", "", true},
		{"pattern:front", "front", true},
		{"pattern:", "", true},
		{"patterns", "", false},
		{"default", "", false},
		{"/dev/video0", "", false},
	} {
		name, ok := ParsePattern(tt.id)
		if name != tt.name || ok != tt.ok {
			t.Errorf("ParsePattern(%q) = %q, %v; want %q, %v", tt.id, name, ok, tt.name, tt.ok)
		}
	}
}

func TestIsSynthetic(t *testing.T) {
	for id, want := range map[string]bool{
		"tone:440": true, "voice": true, "click:/tmp/c": true, "null": true, "detect:/tmp/d": true, "pattern": true, "pattern:x": true,
		"default": false, "voices": false, "tone:0": false, "click:": false, "hw:0,0": false, "/dev/video0": false, "": false,
	} {
		if got := IsSynthetic(id); got != want {
			t.Errorf("IsSynthetic(%q) = %v, want %v", id, got, want)
		}
	}
}
