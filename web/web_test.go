package web_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/display"
	"github.com/voipd/voipd/roomd"
	"github.com/voipd/voipd/web"
)

// TestBothServersServeTheOneFile: roomd and the daemon's display serve
// the same bytes at /voip-room.js, this package's file, each with the
// headers it had when it held its own copy (roomd those of its file
// server, the display an explicit type and no-cache).
func TestBothServersServeTheOneFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	rd, err := roomd.New(roomd.Config{Listen: "127.0.0.1:0", Apps: []roomd.App{{ID: "wx20afc706a711eefc", Secret: "web-test-secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := rd.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	disp, err := display.New(display.Config{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := disp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer disp.Close()

	want := web.VoipRoomJS()
	if !bytes.Contains(want, []byte("customElements.define('voip-room'")) {
		t.Fatalf("web.VoipRoomJS() (%d bytes) does not define <voip-room>", len(want))
	}
	for _, c := range []struct {
		name, url    string
		contentType  string
		cacheControl string
	}{
		// roomd types a file by its extension and has it revalidated (its
		// ETag answers 304; Go's client unzips what roomd gzipped).
		{"roomd", rd.URL(), mime.TypeByExtension(".js"), "no-cache"},
		{"display", disp.URL(), "text/javascript; charset=utf-8", "no-cache"},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url+"/voip-room.js", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: reading /voip-room.js: %v", c.name, err)
		}
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
			t.Errorf("%s: GET /voip-room.js = %d, %d bytes; want 200 and web's %d bytes", c.name, resp.StatusCode, len(body), len(want))
		}
		if got := resp.Header.Get("Content-Type"); got != c.contentType {
			t.Errorf("%s: Content-Type %q, want %q", c.name, got, c.contentType)
		}
		if got := resp.Header.Get("Cache-Control"); got != c.cacheControl {
			t.Errorf("%s: Cache-Control %q, want %q", c.name, got, c.cacheControl)
		}
	}
}

// TestNoOtherCopy: the repository holds voip-room.js once, here; a copy
// beside a server's other web files would drift from it again.
func TestNoOtherCopy(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir // .git and the like
		}
		if !d.IsDir() && d.Name() == "voip-room.js" && path != filepath.Join(root, "web", "voip-room.js") {
			t.Errorf("another voip-room.js: %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// VoipRoomJS hands out a copy: a caller changing it changes nothing else.
func TestVoipRoomJSIsACopy(t *testing.T) {
	a := web.VoipRoomJS()
	a[0] ^= 0xff
	if b := web.VoipRoomJS(); bytes.Equal(a, b) {
		t.Fatal("VoipRoomJS returned the same backing array twice")
	}
}
