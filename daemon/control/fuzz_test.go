package control

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeLine feeds arbitrary lines to the request decoder: it must never
// panic, must either yield a usable request or an error to answer, and the
// answer it leads to must be one valid JSON line.
func FuzzDecodeLine(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"status"}`,
		`{"jsonrpc":"2.0","id":"x","method":"joinVoIPChat","params":{"groupId":"g","muteConfig":{}}}`,
		`{"jsonrpc":"2.0","method":"onEvent","params":[1,2]}`,
		`{"jsonrpc":"2.0","id":null,"method":"m","params":null}`,
		`{"jsonrpc":"2.0","id":{},"method":"m"}`,
		`{"jsonrpc":"2.0","id":1e400,"method":"m"}`,
		`{"jsonrpc":"2.0","id":1,"method":"m","params":"s"}`,
		`{"jsonrpc":"1.0","id":1}`,
		`[{"jsonrpc":"2.0"}]`,
		`null`, `"str"`, `{`, ``, "\xff\xfe", `{"method":"\ud800"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, id, e := decodeLine(line)
		var out []byte
		if e != nil {
			if e.Code > -32600 || e.Code < -32700 {
				t.Fatalf("decoder error code %d outside the JSON-RPC range", e.Code)
			}
			out = encodeError(id, "", e)
		} else {
			if m.Method == "" {
				t.Fatal("accepted a request without a method")
			}
			if m.ID != nil && !validID(m.ID) {
				t.Fatalf("accepted id %q", m.ID)
			}
			if m.Params != nil && m.Params[0] != '{' && m.Params[0] != '[' {
				t.Fatalf("accepted params %q", m.Params)
			}
			var err error
			if out, err = encodeResult(m.ID, m.Method, m.Params); err != nil {
				t.Fatalf("echoing params: %v", err)
			}
		}
		if len(out) == 0 || out[len(out)-1] != '\n' || !json.Valid(out[:len(out)-1]) {
			t.Fatalf("answer %q is not one JSON line", out)
		}
		for _, b := range out[:len(out)-1] {
			if b == '\n' {
				t.Fatalf("answer %q spans lines", out)
			}
		}
	})
}
