package control

import (
	"bytes"
	"encoding/json"
)

// message is one decoded request line.
type message struct {
	ID     json.RawMessage // nil when the line is a notification (no "id" member)
	Method string
	Params json.RawMessage // nil when absent or null
}

// isNotification reports whether the line had no id: JSON-RPC serves it and
// sends no answer.
func (m *message) isNotification() bool { return m.ID == nil }

// decodeLine parses one request line. On failure it returns the error to
// answer with and the id to answer it under (nil, sent as null, when the id
// itself could not be read). A failed line is always answered, even without
// an id, as JSON-RPC 2.0 §5 asks for invalid requests.
func decodeLine(line []byte) (m message, id json.RawMessage, e *Error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(line, &fields); err != nil {
		if json.Valid(line) {
			return m, nil, invalidRequest("not a JSON object")
		}
		return m, nil, &Error{Code: CodeParseError, Message: "parse error: malformed JSON"}
	}
	if fields == nil { // the line was the literal null
		return m, nil, invalidRequest("not a JSON object")
	}
	if raw, ok := fields["id"]; ok {
		if !validID(raw) {
			return m, nil, invalidRequest("id must be a string, a number or null")
		}
		m.ID = raw
	}
	var version string
	if err := json.Unmarshal(fields["jsonrpc"], &version); err != nil || version != "2.0" {
		return m, m.ID, invalidRequest(`jsonrpc must be "2.0"`)
	}
	if err := json.Unmarshal(fields["method"], &m.Method); err != nil || m.Method == "" {
		return m, m.ID, invalidRequest("method must be a non-empty string")
	}
	if p, ok := fields["params"]; ok && !bytes.Equal(p, []byte("null")) {
		if p[0] != '{' && p[0] != '[' {
			return m, m.ID, invalidRequest("params must be an object or an array")
		}
		m.Params = p
	}
	return m, m.ID, nil
}

// validID accepts the id types JSON-RPC 2.0 §4 allows. raw comes from
// json.Unmarshal, so it is valid JSON without leading blanks.
func validID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	switch c := raw[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9':
		return true
	default:
		return bytes.Equal(raw, []byte("null"))
	}
}

func invalidRequest(detail string) *Error {
	return &Error{Code: CodeInvalidRequest, Message: "invalid request: " + detail}
}

type successAnswer struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result"`
}

type errorAnswer struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   wireError       `json:"error"`
}

type notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

// encodeResult marshals a success answer as one line. A result that cannot
// be marshalled becomes an internal error, so the client is always answered.
func encodeResult(id json.RawMessage, method string, result any) ([]byte, error) {
	b, err := json.Marshal(successAnswer{JSONRPC: "2.0", ID: id, Result: result})
	if err != nil {
		return encodeError(id, method, internalError(method)), err
	}
	return append(b, '\n'), nil
}

// encodeError marshals an error answer as one line. A Handler's Data that
// cannot be marshalled is replaced by the default data.
func encodeError(id json.RawMessage, method string, e *Error) []byte {
	w := e.toWire(method)
	b, err := json.Marshal(errorAnswer{JSONRPC: "2.0", ID: id, Error: w})
	if err != nil {
		plain := &Error{Code: e.Code, Message: e.Message, field: e.field}
		b, _ = json.Marshal(errorAnswer{JSONRPC: "2.0", ID: id, Error: plain.toWire(method)})
	}
	return append(b, '\n')
}
