package roomd

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// staticFile is one file of the browser client, kept as served: its bytes,
// the same gzipped where that is smaller, its type and its ETag.
type staticFile struct {
	name        string
	body, gz    []byte
	contentType string
	etag        string
}

// staticFiles serves a fixed set of files (an embedded FS read once at
// start) the way a phone on a slow link wants them: gzipped when the
// browser accepts it (the page's own code is about a quarter of its size
// so), with an ETag so that a second visit revalidates in one round trip
// instead of loading again, and "/" as index.html. Anything else is 404:
// no directory listings.
type staticFiles map[string]*staticFile

// newStaticFiles reads every file of fsys (and extra, name → bytes) into a
// staticFiles.
func newStaticFiles(fsys fs.FS, extra map[string][]byte) (staticFiles, error) {
	files := staticFiles{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files.add(p, b)
		return nil
	})
	for name, b := range extra {
		files.add(name, b)
	}
	return files, err
}

func (f staticFiles) add(name string, body []byte) {
	sum := sha256.Sum256(body)
	s := &staticFile{name: name, body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
		contentType: mime.TypeByExtension(path.Ext(name))}
	if s.contentType == "" {
		s.contentType = http.DetectContentType(body)
	}
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	w.Write(body)
	w.Close()
	if gz.Len() < len(body) {
		s.gz = gz.Bytes()
	}
	f[name] = s
}

func (f staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	s, ok := f[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", s.contentType)
	h.Set("ETag", s.etag)
	// Revalidate every time (an upgraded roomd serves new code at once);
	// an unchanged file costs a 304.
	h.Set("Cache-Control", "no-cache")
	body := s.body
	if s.gz != nil {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			// Each representation its own ETag, as a strong one must be.
			h.Set("ETag", strings.TrimSuffix(s.etag, `"`)+`-gz"`)
			body = s.gz
		}
	}
	// ServeContent answers If-None-Match against the ETag set above (304),
	// HEAD, and ranges (of the body as sent).
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip is whether an Accept-Encoding header admits gzip (q > 0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") && strings.TrimSpace(coding) != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
