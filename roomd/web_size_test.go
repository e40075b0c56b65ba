package roomd_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/voipd/voipd/web"
)

// TestPageSize (issue 20): the page's own code (roomd/web and the
// <voip-room> element; LiveKit's client, served only in gateway mode,
// aside) stays under 100 KB compressed, each file gzipped on its own as a
// server would send it.
func TestPageSize(t *testing.T) {
	files, err := filepath.Glob("web/*")
	if err != nil || len(files) < 5 {
		t.Fatalf("roomd/web: %v, %d files", err, len(files))
	}
	gz := func(b []byte) int {
		var out bytes.Buffer
		w, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
		w.Write(b)
		w.Close()
		return out.Len()
	}
	total, raw := gz(web.VoipRoomJS()), len(web.VoipRoomJS())
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		total += gz(b)
		raw += len(b)
	}
	t.Logf("the page's own code: %d files, %.1f KB, %.1f KB compressed", len(files)+1, float64(raw)/1000, float64(total)/1000)
	if total >= 100_000 {
		t.Errorf("the page's own code is %.1f KB compressed, want under 100", float64(total)/1000)
	}
}
