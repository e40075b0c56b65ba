package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/voipd/voipd/daemon/control"
)

// runCall sends one request and prints its answer.
func runCall(ctx context.Context, path, method string, params json.RawMessage, stdout, stderr io.Writer) int {
	c, err := dial(ctx, path)
	if err != nil {
		fmt.Fprintln(stderr, "voipctl:", err)
		return exitFailure
	}
	defer c.Close()
	if err := c.send(method, params); err != nil {
		fmt.Fprintln(stderr, "voipctl:", err)
		return exitFailure
	}
	a, err := c.answer(nil)
	if err != nil {
		fmt.Fprintln(stderr, "voipctl:", err)
		return exitFailure
	}
	if a.Error != nil {
		fmt.Fprintln(stderr, errorText(a.Error))
		return exitRPCError
	}
	fmt.Fprintf(stdout, "%s\n", compact(a.Result))
	return exitOK
}

// event is how voipctl events prints one event.
type event struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// runEvents subscribes and prints events until interrupted (exit 0) or until
// voipd closes the connection (exit 2).
func runEvents(ctx context.Context, path string, names []string, stdout, stderr io.Writer) int {
	if len(names) == 0 {
		names = []string{"*"}
	}
	c, err := dial(ctx, path)
	if err != nil {
		fmt.Fprintln(stderr, "voipctl:", err)
		return exitFailure
	}
	defer c.Close()
	printEvent := func(l *control.ServerLine) error {
		b, err := json.Marshal(event{Event: l.Method, Data: compact(l.Params)})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%s\n", b)
		return err
	}
	fail := func(err error) int {
		if errors.Is(err, errInterrupted) {
			return exitOK
		}
		fmt.Fprintln(stderr, "voipctl:", err)
		return exitFailure
	}
	sub, err := json.Marshal(map[string]any{"events": names})
	if err != nil {
		return fail(err)
	}
	if err := c.send("subscribe", sub); err != nil {
		return fail(err)
	}
	a, err := c.answer(printEvent)
	if err != nil {
		return fail(err)
	}
	if a.Error != nil {
		fmt.Fprintln(stderr, errorText(a.Error))
		return exitRPCError
	}
	for {
		l, err := c.next()
		if err != nil {
			return fail(err)
		}
		if l.IsEvent() {
			if err := printEvent(l); err != nil {
				return fail(err)
			}
		}
	}
}

// compact returns JSON on one line; absent becomes null.
func compact(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}
