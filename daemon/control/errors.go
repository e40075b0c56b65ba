package control

import (
	"encoding/json"
	"errors"
	"fmt"
)

// JSON-RPC 2.0 error codes (https://www.jsonrpc.org/specification §5.1) and
// the one server error code this package uses.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603
	// CodeBusy answers a connection beyond Config.MaxClients.
	CodeBusy = -32000
)

// Reasons this package puts in data.reason; the daemon adds the rest of the
// list in README.md ("Error codes").
const (
	ReasonParams   = "params"
	ReasonInternal = "internal"
	ReasonBusy     = "busy"
)

// ErrMethodNotFound is returned by a Handler (wrapped or not) for a method it
// does not serve; the client gets -32601 with a message naming the method.
var ErrMethodNotFound = errors.New("method not found")

// Error is a JSON-RPC error a Handler returns to choose the answer's code,
// message and data. When Data is nil the server sends
// {errCode: Code, errMsg: Message, reason} with reason "params" for the
// -32xxx JSON-RPC family and "internal" otherwise (ErrorData). A Handler
// that chooses its own Data can use ErrorData too, with errNo or a reason of
// its own.
type Error struct {
	Code    int
	Message string
	Data    any

	// field is set by InvalidParams: the server then prefixes the method to
	// the message and names the field in the default data.
	field string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s", e.Code, e.Message)
}

// InvalidParams returns a -32602 error about one field of the params. The
// client sees the message "<method>:fail invalid params: <field>: <msg>" and
// data {errCode: -32602, errMsg, reason: "params", field}.
func InvalidParams(field, msg string) *Error {
	return &Error{
		Code:    CodeInvalidParams,
		Message: "invalid params: " + field + ": " + msg,
		field:   field,
	}
}

// toWire completes e for the wire: the method prefix of InvalidParams errors
// and the default data (ErrorData), which also replaces a Handler's Data
// that cannot be marshalled.
func (e *Error) toWire(method string) ErrorObject {
	msg := e.Message
	if e.field != "" && method != "" {
		msg = method + ":fail " + msg
	}
	if e.Data != nil {
		if data, err := json.Marshal(e.Data); err == nil {
			return ErrorObject{Code: e.Code, Message: msg, Data: data}
		}
	}
	reason := ReasonInternal
	switch {
	case e.Code == CodeBusy:
		reason = ReasonBusy
	case e.Code <= -32600 && e.Code >= -32700 && e.Code != CodeInternal:
		reason = ReasonParams
	}
	// Cannot fail: ints and strings.
	data, _ := json.Marshal(ErrorData{ErrCode: e.Code, ErrMsg: msg, Reason: reason, Field: e.field})
	return ErrorObject{Code: e.Code, Message: msg, Data: data}
}

// handlerError maps what a Handler returned to the error the client gets.
// ok is false for errors that are not the Handler's choice (a plain error),
// which the caller logs.
func handlerError(method string, err error) (e *Error, ok bool) {
	var re *Error
	switch {
	case errors.As(err, &re):
		return re, true
	case errors.Is(err, ErrMethodNotFound):
		return methodNotFound(method), true
	default:
		return internalError(method), false
	}
}

func methodNotFound(method string) *Error {
	return &Error{Code: CodeMethodNotFound, Message: method + ":fail method not found"}
}

func internalError(method string) *Error {
	return &Error{Code: CodeInternal, Message: method + ":fail internal error"}
}
