package control

import (
	"bytes"
	"encoding/json"
)

// The lines of the control socket (the control API, README.md), declared
// once: the server decodes RequestLine and encodes ServerLine, and a client
// (voipctl) does the reverse with the same types.

// RequestLine is one line a client sends: a request, or, without an id, a
// notification (served, never answered). The server reads it more strictly
// than encoding/json would (decodeLine): member names are exact, and every
// member's type is checked so a bad line gets the JSON-RPC error it asks for.
type RequestLine struct {
	JSONRPC string `json:"jsonrpc"` // "2.0"
	// ID is a string, a number or null; nil (absent) for a notification.
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method"`
	// Params is an object or an array; nil when absent (or, as the server
	// reads it, null).
	Params json.RawMessage `json:"params,omitempty"`
}

// isNotification reports whether the line had no id: JSON-RPC serves it and
// sends no answer.
func (m *RequestLine) isNotification() bool { return m.ID == nil }

// ServerLine is one line the server sends: an answer or an event.
//
// An answer has ID (null when the request's id could not be read) and
// either Result or Error. An event is a notification: no ID, Method is the
// event's name and Params its payload. The server sets a null result or
// payload as the JSON text "null", so a success answer always has "result"
// and an event "params"; omitempty leaves out only the members the other
// kinds of line use.
type ServerLine struct {
	JSONRPC string          `json:"jsonrpc"` // "2.0"
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *ErrorObject    `json:"error,omitempty"`
}

// IsEvent reports whether l is an event rather than an answer.
func (l *ServerLine) IsEvent() bool { return l.ID == nil && l.Method != "" }

// ErrorObject is the "error" member of an error answer (JSON-RPC 2.0 §5.1).
// Data is ErrorData unless a Handler chose its own (Error.Data).
type ErrorObject struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// ErrorData is the data of an error answer as the control API (README.md)
// gives it: errCode equals the error's code and errMsg its message; reason
// is a stable word from README.md's list ("Error codes"); field names the
// bad field of an invalid-params error; errNo is Douyin's error number, for
// RTC methods only. The server sends it when a Handler's Error has no Data
// of its own. The order of the members is the order on the wire.
type ErrorData struct {
	ErrCode int    `json:"errCode"`
	ErrMsg  string `json:"errMsg"`
	ErrNo   int    `json:"errNo,omitempty"`
	Reason  string `json:"reason"`
	Field   string `json:"field,omitempty"`
}

// decodeLine parses one request line. On failure it returns the error to
// answer with and the id to answer it under (nil, sent as null, when the id
// itself could not be read). A failed line is always answered, even without
// an id, as JSON-RPC 2.0 §5 asks for invalid requests.
func decodeLine(line []byte) (m RequestLine, id json.RawMessage, e *Error) {
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
	m.JSONRPC = version
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

// answerID is the id an answer goes under: the request's, or null when it
// could not be read.
func answerID(id json.RawMessage) json.RawMessage {
	if id == nil {
		return json.RawMessage("null")
	}
	return id
}

// encodeResult marshals a success answer as one line. A result that cannot
// be marshalled becomes an internal error, so the client is always answered.
func encodeResult(id json.RawMessage, method string, result any) ([]byte, error) {
	r, err := json.Marshal(result)
	if err != nil {
		return encodeError(id, method, internalError(method)), err
	}
	// Cannot fail: id and r are JSON already.
	b, _ := json.Marshal(ServerLine{JSONRPC: "2.0", ID: answerID(id), Result: r})
	return append(b, '\n'), nil
}

// encodeError marshals an error answer as one line. A Handler's Data that
// cannot be marshalled is replaced by the default data (Error.toWire).
func encodeError(id json.RawMessage, method string, e *Error) []byte {
	w := e.toWire(method)
	b, _ := json.Marshal(ServerLine{JSONRPC: "2.0", ID: answerID(id), Error: &w})
	return append(b, '\n')
}

// encodeEvent marshals an event as one line.
func encodeEvent(name string, params any) ([]byte, error) {
	p, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(ServerLine{JSONRPC: "2.0", Method: name, Params: p})
	return append(b, '\n'), nil
}
