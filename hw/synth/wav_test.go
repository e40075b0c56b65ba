package synth

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeWAV(t *testing.T, rate uint32, channels uint16, samples []int16) string {
	t.Helper()
	var b []byte
	le32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	le16 := func(v uint16) { b = binary.LittleEndian.AppendUint16(b, v) }
	b = append(b, "RIFF"...)
	le32(uint32(36 + 2*len(samples)))
	b = append(b, "WAVEfmt "...)
	le32(16)
	le16(1)
	le16(channels)
	le32(rate)
	le32(rate * 2 * uint32(channels))
	le16(2 * channels)
	le16(16)
	b = append(b, "LIST"...) // an extra chunk to skip
	le32(3)
	b = append(b, 'a', 'b', 'c', 0)
	b = append(b, "data"...)
	le32(uint32(2 * len(samples)))
	for _, s := range samples {
		le16(uint16(s))
	}
	p := filepath.Join(t.TempDir(), "ring.wav")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadWAV(t *testing.T) {
	pcm, err := LoadWAV(writeWAV(t, 48000, 1, []int16{1, -2, 32767, -32768}))
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) != 4 || pcm[1] != -2 || pcm[3] != -32768 {
		t.Fatalf("samples %v", pcm)
	}
	for _, c := range []struct {
		path string
		want string
	}{
		{writeWAV(t, 44100, 1, []int16{1}), "44100 Hz"},
		{writeWAV(t, 48000, 2, []int16{1, 2}), "2 channel"},
	} {
		if _, err := LoadWAV(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err %v, want mention of %q", err, c.want)
		}
	}
	bad := filepath.Join(t.TempDir(), "x.wav")
	os.WriteFile(bad, []byte("not audio"), 0o644)
	if _, err := LoadWAV(bad); err == nil {
		t.Error("a non-WAV file loaded")
	}
}
