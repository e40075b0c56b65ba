// Package journal is a slog.Handler that writes to systemd's journal in
// its native protocol (systemd.journal-fields(7), "Native Journal
// Protocol"), so that each record's attributes become journal fields:
// `journalctl -u voipd ROOM=lobby` finds a room's lines, and the priority
// follows the level. Under systemd a service's stderr is already the
// journal, but as one MESSAGE of text; Stream tells when that is so
// (JOURNAL_STREAM names stderr), and the daemons then log here instead.
//
// Each record is one datagram to the journal's socket. A record too large
// for one (over MaxRecord bytes, far beyond any log line the daemons
// write) has its message cut; the journal's memfd path for huge entries is
// not used.
package journal

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Socket is where journald listens for native messages.
const Socket = "/run/systemd/journal/socket"

// MaxRecord bounds one record's datagram. journald accepts larger ones
// through a memfd; nothing the daemons log comes near this.
const MaxRecord = 48 << 10

// Stream reports whether stderr is connected to the journal: systemd sets
// JOURNAL_STREAM to its device and inode ("dev:ino") when it makes the
// service's stderr a journal stream (systemd.exec(5)). A redirected stderr
// (a shell's 2>file under the service) no longer matches, and keeps text.
func Stream() bool {
	v := os.Getenv("JOURNAL_STREAM")
	if v == "" {
		return false
	}
	var dev, ino uint64
	if _, err := fmt.Sscanf(v, "%d:%d", &dev, &ino); err != nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(2, &st); err != nil {
		return false
	}
	return uint64(st.Dev) == dev && uint64(st.Ino) == ino
}

// Handler writes records to the journal. It is safe for concurrent use.
type Handler struct {
	w     *writer
	opts  slog.HandlerOptions
	ident string
	// pre is the fields of WithAttrs, already encoded; group the prefix
	// (upper-cased, "_"-joined) of WithGroup.
	pre   []byte
	group string
}

type writer struct {
	mu   sync.Mutex
	fd   int // an unbound datagram socket
	addr syscall.SockaddrUnix
	buf  []byte
	errs int // records lost since the last one written
}

// send writes one datagram without blocking: a journal that is not
// keeping up loses the record rather than stalling the daemon.
func (w *writer) send(b []byte) error {
	if w.fd < 0 {
		return syscall.EBADF
	}
	return syscall.Sendto(w.fd, b, sendFlags, &w.addr)
}

// New returns a Handler that sends to the journal socket at path (Socket
// in production), marking each record SYSLOG_IDENTIFIER=ident. It fails
// when no socket can be opened; a journal that is not there yet is not an
// error (the records written meanwhile are lost, as syslog's would be).
func New(path, ident string, opts *slog.HandlerOptions) (*Handler, error) {
	fd, err := datagramSocket()
	if err != nil {
		return nil, fmt.Errorf("journal: socket: %w", err)
	}
	h := &Handler{w: &writer{fd: fd, addr: syscall.SockaddrUnix{Name: path}}, ident: ident}
	if opts != nil {
		h.opts = *opts
	}
	return h, nil
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	min := slog.LevelInfo
	if h.opts.Level != nil {
		min = h.opts.Level.Level()
	}
	return l >= min
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.pre = append([]byte(nil), h.pre...)
	for _, a := range as {
		c.pre = appendAttr(c.pre, h.group, a)
	}
	return &c
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.group = fieldName(h.group, name)
	return &c
}

// Handle implements slog.Handler.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	w := h.w
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf[:0]
	b = appendField(b, "MESSAGE", r.Message)
	b = appendField(b, "PRIORITY", priority(r.Level))
	if h.ident != "" {
		b = appendField(b, "SYSLOG_IDENTIFIER", h.ident)
	}
	b = append(b, h.pre...)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, h.group, a)
		return true
	})
	if len(b) > MaxRecord {
		// Keep the message's start and the priority; the fields go.
		msg := r.Message
		if len(msg) > MaxRecord/2 {
			msg = msg[:MaxRecord/2] + "…"
		}
		b = appendField(b[:0], "MESSAGE", msg)
		b = appendField(b, "PRIORITY", priority(r.Level))
		b = appendField(b, "SYSLOG_IDENTIFIER", h.ident)
	}
	w.buf = b
	if err := w.send(b); err != nil {
		w.errs++
		return fmt.Errorf("journal: writing to %s: %w", w.addr.Name, err)
	}
	if w.errs > 0 {
		lost := fmt.Sprintf("%d log records could not be written to the journal before this one", w.errs)
		w.errs = 0
		b = appendField(w.buf[:0], "MESSAGE", lost)
		b = appendField(b, "PRIORITY", priority(slog.LevelWarn))
		b = appendField(b, "SYSLOG_IDENTIFIER", h.ident)
		w.send(b)
	}
	return nil
}

// Close closes the socket of the handler and of those made from it
// (WithAttrs, WithGroup); records after it are dropped with an error.
func (h *Handler) Close() error {
	w := h.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd < 0 {
		return nil
	}
	err := syscall.Close(w.fd)
	w.fd = -1
	return err
}

// priority is syslog's for a level: error 3, warning 4, info 6, debug 7.
func priority(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "3"
	case l >= slog.LevelWarn:
		return "4"
	case l >= slog.LevelInfo:
		return "6"
	default:
		return "7"
	}
}

// reserved are the fields a record's attribute must not overwrite: they
// get the prefix ATTR_ instead.
var reserved = map[string]bool{"MESSAGE": true, "PRIORITY": true, "SYSLOG_IDENTIFIER": true, "MESSAGE_ID": true}

// appendAttr adds attribute a (in group) as a field, a group's attributes
// each as GROUP_KEY.
func appendAttr(b []byte, group string, a slog.Attr) []byte {
	v := a.Value.Resolve()
	if a.Key == "" && v.Kind() != slog.KindGroup {
		return b
	}
	if v.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g = fieldName(group, a.Key)
		}
		for _, ga := range v.Group() {
			b = appendAttr(b, g, ga)
		}
		return b
	}
	name := fieldName(group, a.Key)
	if name == "" {
		return b
	}
	if reserved[name] {
		name = "ATTR_" + name
	}
	var s string
	switch v.Kind() {
	case slog.KindTime:
		s = v.Time().Format(time.RFC3339Nano)
	default:
		s = v.String()
	}
	return appendField(b, name, s)
}

// fieldName makes a journal field name of key, after prefix: letters
// upper-cased, anything not a letter, digit or underscore made "_", no
// leading underscore (those are the journal's own trusted fields) or
// digit, at most 64 characters. "errCode" is ERRCODE.
func fieldName(prefix, key string) string {
	var sb strings.Builder
	if prefix != "" {
		sb.WriteString(prefix)
		sb.WriteByte('_')
	}
	for _, c := range key {
		switch {
		case c >= 'a' && c <= 'z':
			sb.WriteRune(c - 'a' + 'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			sb.WriteRune(c)
		default:
			sb.WriteByte('_')
		}
	}
	n := strings.TrimLeft(sb.String(), "_0123456789")
	if len(n) > 64 {
		n = n[:64]
	}
	return n
}

// appendField encodes one field: NAME=value and a newline, or, when the
// value holds a newline, NAME, a newline, its length as 64-bit
// little-endian, the value and a newline.
func appendField(b []byte, name, value string) []byte {
	b = append(b, name...)
	if !strings.ContainsRune(value, '\n') {
		b = append(b, '=')
		b = append(b, value...)
		return append(b, '\n')
	}
	b = append(b, '\n')
	b = binary.LittleEndian.AppendUint64(b, uint64(len(value)))
	b = append(b, value...)
	return append(b, '\n')
}

// Logger is the daemons' logger: when text is os.Stderr and stderr is the
// journal (Stream), to the journal at socket (Socket) with each attribute
// a field and ident as SYSLOG_IDENTIFIER; else slog's text format to text.
func Logger(text io.Writer, socket, ident string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if text == io.Writer(os.Stderr) && Stream() {
		if h, err := New(socket, ident, opts); err == nil {
			return slog.New(h)
		}
	}
	return slog.New(slog.NewTextHandler(text, opts))
}
