package journal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// listen is a journald of the test's own: a datagram socket at a
// temporary path.
func listen(t *testing.T) (string, *net.UnixConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "socket")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return path, c
}

// read receives one datagram and parses it as journald does: NAME=value
// lines, or NAME, a newline, a 64-bit little-endian length, the value and
// a newline. Each name may repeat; the values are kept in order.
func read(t *testing.T, c *net.UnixConn) map[string][]string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1<<17)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := parse(buf[:n])
	if err != nil {
		t.Fatalf("%v in %q", err, buf[:n])
	}
	return fields
}

func parse(b []byte) (map[string][]string, error) {
	fields := map[string][]string{}
	for len(b) > 0 {
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("a field without its newline")
		}
		line := b[:nl]
		if eq := bytes.IndexByte(line, '='); eq >= 0 {
			fields[string(line[:eq])] = append(fields[string(line[:eq])], string(line[eq+1:]))
			b = b[nl+1:]
			continue
		}
		name := string(line)
		b = b[nl+1:]
		if len(b) < 8 {
			return nil, fmt.Errorf("field %s: no length", name)
		}
		size := binary.LittleEndian.Uint64(b)
		b = b[8:]
		if uint64(len(b)) < size+1 || b[size] != '\n' {
			return nil, fmt.Errorf("field %s: %d bytes and a newline do not follow", name, size)
		}
		fields[name] = append(fields[name], string(b[:size]))
		b = b[size+1:]
	}
	for name := range fields {
		for _, c := range name {
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return nil, fmt.Errorf("field name %q: journald takes A–Z, 0–9 and _ only", name)
			}
		}
		if name[0] == '_' || name[0] >= '0' && name[0] <= '9' {
			return nil, fmt.Errorf("field name %q: journald refuses a leading _ or digit", name)
		}
	}
	return fields, nil
}

func one(t *testing.T, f map[string][]string, name string) string {
	t.Helper()
	if len(f[name]) != 1 {
		t.Fatalf("field %s = %q, want one value; all fields %q", name, f[name], f)
	}
	return f[name][0]
}

// TestFields: a record's message, priority, identifier and attributes
// arrive as journal fields, with the names journalctl matches on
// (ROOM=lobby, ERRCODE=-2), groups as prefixes, and a value with a newline
// in the protocol's length-prefixed form.
func TestFields(t *testing.T) {
	path, c := listen(t)
	h, err := New(path, "voipd", &slog.HandlerOptions{Level: slog.LevelDebug})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	log := slog.New(h).With("component", "session")

	log.Warn("join failed", "room", "lobby", "method", "joinVoIPChat", "errCode", -2, "took", 1500*time.Millisecond)
	f := read(t, c)
	for name, want := range map[string]string{
		"MESSAGE": "join failed", "PRIORITY": "4", "SYSLOG_IDENTIFIER": "voipd", "COMPONENT": "session",
		"ROOM": "lobby", "METHOD": "joinVoIPChat", "ERRCODE": "-2", "TOOK": "1.5s",
	} {
		if got := one(t, f, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	for level, want := range map[slog.Level]string{slog.LevelDebug: "7", slog.LevelInfo: "6", slog.LevelWarn: "4", slog.LevelError: "3", slog.LevelError + 4: "3"} {
		log.Log(t.Context(), level, "x")
		if got := one(t, read(t, c), "PRIORITY"); got != want {
			t.Errorf("level %v: PRIORITY %s, want %s", level, got, want)
		}
	}

	log.WithGroup("call").Info("two\nlines", slog.Group("audio", "jitter-ms", 12), "message", "an attribute named like a field", "_hidden", 1, "9lives", 2)
	f = read(t, c)
	if got := one(t, f, "MESSAGE"); got != "two\nlines" {
		t.Errorf("MESSAGE %q", got)
	}
	if got := one(t, f, "CALL_AUDIO_JITTER_MS"); got != "12" {
		t.Errorf("CALL_AUDIO_JITTER_MS %q", got)
	}
	if got := one(t, f, "CALL_MESSAGE"); got != "an attribute named like a field" {
		t.Errorf("CALL_MESSAGE %q", got)
	}
	if got := one(t, f, "CALL__HIDDEN"); got != "1" {
		t.Errorf("CALL__HIDDEN %q", got)
	}

	slog.New(h).Info("top", "message", "not the message", "_hidden", 1, "9lives", 2)
	f = read(t, c)
	if one(t, f, "MESSAGE") != "top" || one(t, f, "ATTR_MESSAGE") != "not the message" || one(t, f, "HIDDEN") != "1" || one(t, f, "LIVES") != "2" {
		t.Errorf("fields %q", f)
	}

	log.Debug("below", "k", "v")
	if one(t, read(t, c), "MESSAGE") != "below" {
		t.Error("a debug record was not sent at level debug")
	}
	quiet := slog.New(must(New(path, "voipd", nil)))
	quiet.Debug("hidden")
	quiet.Info("shown")
	if got := one(t, read(t, c), "MESSAGE"); got != "shown" {
		t.Errorf("the default level let %q through", got)
	}
}

func must(h *Handler, err error) *Handler {
	if err != nil {
		panic(err)
	}
	return h
}

// TestHugeRecord: a record larger than MaxRecord still arrives, its
// message cut and its priority kept.
func TestHugeRecord(t *testing.T) {
	path, c := listen(t)
	h := must(New(path, "voipd", nil))
	defer h.Close()
	slog.New(h).Error(strings.Repeat("m", MaxRecord), "big", strings.Repeat("v", MaxRecord))
	f := read(t, c)
	if one(t, f, "PRIORITY") != "3" || len(one(t, f, "MESSAGE")) > MaxRecord/2+4 || len(f["BIG"]) != 0 {
		t.Errorf("huge record arrived as %d-byte message, fields %v", len(f["MESSAGE"][0]), len(f))
	}
}

// TestNoJournal: without a journal listening, logging fails with an error
// naming the journal and never blocks; the next record written says how
// many were lost.
func TestNoJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "socket")
	h := must(New(path, "voipd", nil))
	defer h.Close()
	log := slog.New(h)
	log.Info("lost 1")
	log.Info("lost 2")
	if err := h.Handle(t.Context(), slog.NewRecord(time.Now(), slog.LevelInfo, "lost 3", 0)); err == nil || !strings.Contains(err.Error(), "journal") {
		t.Errorf("writing with no journal: %v", err)
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	log.Info("back")
	if got := one(t, read(t, c), "MESSAGE"); got != "back" {
		t.Errorf("first record after the journal came: %q", got)
	}
	f := read(t, c)
	if got := one(t, f, "MESSAGE"); !strings.HasPrefix(got, "3 log records") || one(t, f, "PRIORITY") != "4" {
		t.Errorf("the loss was reported as %q", f)
	}
}

// TestStream: JOURNAL_STREAM naming stderr's device and inode means the
// journal; another file's, a malformed value or none means text.
func TestStream(t *testing.T) {
	var st syscall.Stat_t
	if err := syscall.Fstat(2, &st); err != nil {
		t.Fatal(err)
	}
	other, err := os.CreateTemp(t.TempDir(), "other")
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := other.Stat()
	ost := fi.Sys().(*syscall.Stat_t)
	for v, want := range map[string]bool{
		fmt.Sprintf("%d:%d", st.Dev, st.Ino):   true,
		fmt.Sprintf("%d:%d", ost.Dev, ost.Ino): false,
		"garbage":                              false,
		"":                                     false,
	} {
		t.Setenv("JOURNAL_STREAM", v)
		if got := Stream(); got != want {
			t.Errorf("JOURNAL_STREAM=%q: Stream() = %v, want %v", v, got, want)
		}
	}
}

// TestLogger: the daemons' logger writes to the journal when stderr is a
// journal stream, and text otherwise.
func TestLogger(t *testing.T) {
	path, c := listen(t)
	var st syscall.Stat_t
	if err := syscall.Fstat(2, &st); err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	Logger(os.Stderr, path, "roomd", slog.LevelInfo).Info("to the journal", "room", "lobby")
	f := read(t, c)
	if one(t, f, "MESSAGE") != "to the journal" || one(t, f, "ROOM") != "lobby" || one(t, f, "SYSLOG_IDENTIFIER") != "roomd" {
		t.Errorf("under the journal: fields %q", f)
	}
	// Another writer than stderr (a subcommand's, a test's) keeps text.
	Logger(&text, path, "roomd", slog.LevelInfo).Info("as text", "room", "lobby")
	t.Setenv("JOURNAL_STREAM", "")
	Logger(&text, path, "roomd", slog.LevelInfo).Info("as text", "room", "lobby")
	if strings.Count(text.String(), `msg="as text" room=lobby`) != 2 {
		t.Errorf("text: %q", text.String())
	}
}
