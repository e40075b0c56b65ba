package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/roomd/token"
)

const rtcAppID = "5f3c8a9b2d1e4f6a7b8c9d0e"

func runToken(getenv func(string) string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"token"}, args...), &out, &errb, getenv)
	return strings.TrimSpace(out.String()), errb.String(), code
}

// The printed token verifies with roomd/token for its app, room and user,
// with the privileges and expiry asked for.
func TestTokenOutputVerifies(t *testing.T) {
	env := func(k string) string {
		if k == "ROOMD_APP_SECRET" {
			return "app-key"
		}
		return ""
	}
	now := time.Now()
	for _, tc := range []struct {
		name    string
		args    []string
		room    string
		publish bool
		expire  bool
	}{
		{"publisher", []string{"-roomId", "hall", "-userId", "door-1", "-ttl", "1h"}, "hall", true, true},
		{"subscriber", []string{"-roomId", "hall", "-userId", "door-1", "-subscribe-only"}, "hall", false, true},
		{"any room, forever", []string{"-roomId", "*", "-userId", "door-1", "-ttl", "0"}, "lobby", true, false},
	} {
		out, stderr, code := runToken(env, append([]string{"-app-id", rtcAppID}, tc.args...)...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, code, stderr)
		}
		tok, err := token.Verify(out, rtcAppID, "app-key", tc.room, "door-1", now)
		if err != nil {
			t.Fatalf("%s: Verify: %v", tc.name, err)
		}
		if tok.CanPublish(now) != tc.publish || !tok.Can(token.SubscribeStream, now) {
			t.Errorf("%s: CanPublish %v, subscribe %v; want %v, true", tc.name, tok.CanPublish(now),
				tok.Can(token.SubscribeStream, now), tc.publish)
		}
		if got := !tok.Expiry().IsZero(); got != tc.expire {
			t.Errorf("%s: expires %v, want %v", tc.name, tok.Expiry(), tc.expire)
		}
		if tc.name == "publisher" && tok.Expiry().Sub(now) > time.Hour+time.Second {
			t.Errorf("expiry %v is more than -ttl 1h away", tok.Expiry())
		}
		if _, err := token.Verify(out, rtcAppID, "app-key", tc.room, "door-1", now.Add(25*time.Hour)); tc.expire != errors.Is(err, token.ErrExpired) {
			t.Errorf("%s: a day later Verify = %v", tc.name, err)
		}
	}
}

func TestTokenErrors(t *testing.T) {
	env := func(k string) string {
		if k == "ROOMD_APP_SECRET" {
			return "app-key"
		}
		return ""
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no room", []string{"-app-id", rtcAppID, "-userId", "u"}, 2, "-roomId is required"},
		{"no user", []string{"-app-id", rtcAppID, "-roomId", "r"}, 2, "-userId is required"},
		{"negative ttl", []string{"-app-id", rtcAppID, "-roomId", "r", "-userId", "u", "-ttl", "-1s"}, 2, "negative"},
		{"short app id", []string{"-app-id", "wx20afc706a711eefc", "-roomId", "r", "-userId", "u"}, 1, "24-character"},
		{"no app", []string{"-roomId", "r", "-userId", "u"}, 1, "no app"},
	} {
		out, stderr, code := runToken(env, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) || out != "" {
			t.Errorf("%s: exit %d, stderr %q, stdout %q; want exit %d and %q", tc.name, code, stderr, out, tc.code, tc.msg)
		}
	}
}

// The token-room keys of the config file reach roomd.Config.
func TestConfigRTCKeys(t *testing.T) {
	cfgPath := writeFile(t, "roomd.toml", `
rtcMaxMembers = 20
rtcMaxPublishers = 5
rtcTokenWarning = "10s"

[[apps]]
id = "`+rtcAppID+`"
secret = "app-key"
`, 0o600)
	f := newFlags("roomd", io.Discard)
	f.addServeFlags()
	if err := f.fs.Parse([]string{"-config", cfgPath}); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.load(noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RTCMaxMembers != 20 || cfg.RTCMaxPublishers != 5 || cfg.RTCTokenWarning != 10*time.Second {
		t.Fatalf("RTC config = %d, %d, %v; want 20, 5, 10s", cfg.RTCMaxMembers, cfg.RTCMaxPublishers, cfg.RTCTokenWarning)
	}
	out, stderr, code := runToken(noEnv, "-config", cfgPath, "-roomId", "r", "-userId", "u")
	if code != 0 {
		t.Fatalf("token from the config's app: exit %d: %s", code, stderr)
	}
	if _, err := token.Verify(out, rtcAppID, "app-key", "r", "u", time.Now()); err != nil {
		t.Fatal(err)
	}
}
