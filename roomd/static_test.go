package roomd

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

// TestStaticFiles: the client's files are served gzipped to a browser that
// accepts it (the same bytes once unzipped) and as they are otherwise,
// with their type, an ETag per representation that answers 304 when it
// still holds, Vary, "/" as index.html, and 404 for anything not a file
// (no directory listing, no way out of the set).
func TestStaticFiles(t *testing.T) {
	js := bytes.Repeat([]byte("export const x = 'voipd';\n"), 200)
	files, err := newStaticFiles(fstest.MapFS{
		"index.html":   {Data: []byte("<!doctype html><title>t</title>" + string(bytes.Repeat([]byte("<p>x</p>"), 100)))},
		"app.js":       {Data: js},
		"sub/tiny.css": {Data: []byte("a{}")},
	}, map[string][]byte{"voip-room.js": js})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, enc string, hdr ...string) *http.Response {
		t.Helper()
		r := httptest.NewRequest("GET", path, nil)
		if enc != "" {
			r.Header.Set("Accept-Encoding", enc)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		files.ServeHTTP(w, r)
		return w.Result()
	}
	body := func(res *http.Response) []byte {
		t.Helper()
		var rd io.Reader = res.Body
		if res.Header.Get("Content-Encoding") == "gzip" {
			z, err := gzip.NewReader(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			rd = z
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	for _, path := range []string{"/app.js", "/voip-room.js"} {
		zipped := get(path, "gzip, deflate, br")
		if zipped.StatusCode != 200 || zipped.Header.Get("Content-Encoding") != "gzip" ||
			zipped.Header.Get("Vary") != "Accept-Encoding" || zipped.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
			t.Fatalf("%s with gzip accepted: %d %v", path, zipped.StatusCode, zipped.Header)
		}
		raw, _ := io.ReadAll(zipped.Body)
		if len(raw) == 0 || len(raw) >= len(js)/4 {
			t.Errorf("%s: %d bytes gzipped of %d", path, len(raw), len(js))
		}
		zipped.Body = io.NopCloser(bytes.NewReader(raw))
		if !bytes.Equal(body(zipped), js) {
			t.Errorf("%s: the gzipped body is not the file", path)
		}
		plain := get(path, "")
		if plain.Header.Get("Content-Encoding") != "" || !bytes.Equal(body(plain), js) {
			t.Errorf("%s without gzip: %v", path, plain.Header)
		}
		if plain.Header.Get("ETag") == zipped.Header.Get("ETag") || plain.Header.Get("ETag") == "" {
			t.Errorf("%s: ETags %q and %q, want one per representation", path, plain.Header.Get("ETag"), zipped.Header.Get("ETag"))
		}
		if res := get(path, "gzip", "If-None-Match", zipped.Header.Get("ETag")); res.StatusCode != http.StatusNotModified {
			t.Errorf("%s revalidated: %d, want 304", path, res.StatusCode)
		}
		if res := get(path, "gzip;q=0"); res.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s with gzip;q=0: encoded %q", path, res.Header.Get("Content-Encoding"))
		}
	}
	if res := get("/", "gzip"); res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
		!bytes.HasPrefix(body(res), []byte("<!doctype html>")) {
		t.Errorf("/: %d %v", res.StatusCode, res.Header)
	}
	// Too small to gain from gzip: sent as it is, without Vary.
	if res := get("/sub/tiny.css", "gzip"); res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "" ||
		res.Header.Get("Vary") != "" || string(body(res)) != "a{}" {
		t.Errorf("/sub/tiny.css: %d %v", res.StatusCode, res.Header)
	}
	for _, path := range []string{"/sub/", "/sub", "/missing.js", "/../static.go", "/app.js/x"} {
		if res := get(path, ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, res.StatusCode)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=0.5": true, "gzip;q=0": false, "gzip; q=0.000": false,
		"*": true, "br": false, "identity": false, "x-gzip": false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}
