package roomd

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/proto"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthzAndWeb(t *testing.T) {
	s := startTest(t, Config{})
	if code, body := get(t, s.URL()+"/healthz"); code != 200 || body != "ok" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	if code, _ := get(t, s.URL()+"/dev/sign?openid=a&groupId=g"); code != http.StatusNotFound {
		t.Fatalf("/dev/sign without Dev = %d, want 404", code)
	}
	// The embedded browser client directory is served at /.
	entries, err := webFS.ReadDir("web")
	if err != nil || len(entries) == 0 {
		t.Fatalf("embedded web directory: %v (%d entries)", err, len(entries))
	}
	name := entries[0].Name()
	want, _ := webFS.ReadFile("web/" + name)
	if code, body := get(t, s.URL()+"/"+name); code != 200 || body != string(want) {
		t.Fatalf("/%s = %d (%d bytes), want the embedded file", name, code, len(body))
	}
}

func TestDevSign(t *testing.T) {
	s := startTest(t, Config{Dev: true, Apps: []App{testApp, {ID: "second", Secret: "s2"}}})
	code, body := get(t, s.URL()+"/dev/sign?openid=door-1&groupId=g1")
	if code != 200 {
		t.Fatalf("/dev/sign = %d %s", code, body)
	}
	var sg Signed
	if err := json.Unmarshal([]byte(body), &sg); err != nil {
		t.Fatal(err)
	}
	if sg.AppID != testApp.ID || sg.OpenID != "door-1" || sg.GroupID != "g1" || len(sg.NonceStr) != 16 {
		t.Fatalf("signed = %+v", sg)
	}
	if d := time.Since(time.Unix(sg.TimeStamp, 0)); d < -time.Minute || d > time.Minute {
		t.Fatalf("timeStamp %d is not now", sg.TimeStamp)
	}
	if !proto.VerifySignature(sg.Signature, sg.AppID, sg.GroupID, sg.NonceStr, sg.TimeStamp, proto.SessionKey(testApp.Secret, "door-1")) {
		t.Fatal("signature does not verify")
	}
	if strings.Contains(body, testApp.Secret) || strings.Contains(body, proto.SessionKey(testApp.Secret, "door-1")) {
		t.Fatal("/dev/sign leaks the secret or the session key")
	}
	for _, q := range []string{"openid=a", "groupId=g"} {
		if code, _ := get(t, s.URL()+"/dev/sign?"+q); code != http.StatusBadRequest {
			t.Fatalf("/dev/sign?%s = %d, want 400", q, code)
		}
	}
	// The signed join is accepted.
	m, _ := rawJoin(t, s, &proto.Message{Type: proto.TypeJoin, Kind: proto.KindVoIP, AppID: sg.AppID, OpenID: sg.OpenID,
		GroupID: sg.GroupID, NonceStr: sg.NonceStr, TimeStamp: sg.TimeStamp, Signature: sg.Signature})
	if m.Type != proto.TypeJoined {
		t.Fatalf("join with /dev/sign's signature: %+v", m)
	}
}

func TestNewValidates(t *testing.T) {
	ok := Config{Listen: "127.0.0.1:0", Apps: []App{testApp}}
	tests := []struct {
		field string
		mod   func(*Config)
	}{
		{"Listen", func(c *Config) { c.Listen = "" }},
		{"Listen", func(c *Config) { c.Listen = "nonsense" }},
		{"Apps", func(c *Config) { c.Apps = nil }},
		{"Apps[0].ID", func(c *Config) { c.Apps = []App{{Secret: "x"}} }},
		{"Apps[0].Secret", func(c *Config) { c.Apps = []App{{ID: "x"}} }},
		{"Apps[1].ID", func(c *Config) { c.Apps = []App{testApp, testApp} }},
		{"MaxMembers", func(c *Config) { c.MaxMembers = -1 }},
		{"TimestampWindow", func(c *Config) { c.TimestampWindow = -time.Second }},
		{"UDPPort", func(c *Config) { c.UDPPort = 70000 }},
		{"PublicIPs[0]", func(c *Config) { c.PublicIPs = []string{"not-an-ip"} }},
		{"ICEServers[0].URLs", func(c *Config) { c.ICEServers = []proto.ICEServer{{}} }},
		{"TLSKey", func(c *Config) { c.TLSCert = "cert.pem" }},
		{"HandshakeTimeout", func(c *Config) { c.HandshakeTimeout = -time.Second }},
		{"JoinRate", func(c *Config) { c.JoinRate = math.Inf(1) }},
		{"JoinBurst", func(c *Config) { c.JoinBurst = -1 }},
	}
	for _, tc := range tests {
		cfg := ok
		tc.mod(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("New with bad %s: err = %v", tc.field, err)
		}
	}
	if _, err := New(ok); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
}

// PublicIPs are announced as host candidates on the media port.
func TestPublicIPsAnnounced(t *testing.T) {
	s := startTest(t, Config{PublicIPs: []string{"203.0.113.7"}})
	_, c := rawJoin(t, s, joinMsg(testApp, "a", "pub", time.Now()))
	want := fmt.Sprintf("203.0.113.7 %d typ host", s.UDPPort())
	deadline := time.Now().Add(5 * time.Second)
	var seen []string
	for time.Now().Before(deadline) {
		c.SetReadDeadline(deadline)
		_, b, err := c.ReadMessage()
		if err != nil {
			break
		}
		if strings.Contains(string(b), want) {
			return
		}
		seen = append(seen, string(b))
	}
	t.Fatalf("no candidate %q in %q", want, seen)
}
