package janus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// janusClient is one Janus session over the HTTP (long-poll) transport:
// requests are POSTed, asynchronous events come back on one long poll and
// are routed to the handle that caused them.
type janusClient struct {
	base    string // http://127.0.0.1:PORT/janus
	hc      *http.Client
	session uint64
	txn     atomic.Uint64

	mu      sync.Mutex
	handles map[uint64]chan janusEvent

	stopPoll context.CancelFunc
	polling  chan struct{}
}

// janusEvent is a reply or an event of the Janus API.
type janusEvent struct {
	Janus       string `json:"janus"`
	Sender      uint64 `json:"sender"`
	Transaction string `json:"transaction"`
	Data        struct {
		ID uint64 `json:"id"`
	} `json:"data"`
	PluginData struct {
		Plugin string          `json:"plugin"`
		Data   json.RawMessage `json:"data"`
	} `json:"plugindata"`
	Jsep  *webrtc.SessionDescription `json:"jsep"`
	Error *struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	} `json:"error"`
}

// roomError is a VideoRoom error_code and its text.
type roomError struct {
	code int
	msg  string
}

func (e *roomError) Error() string { return fmt.Sprintf("videoroom error %d: %s", e.code, e.msg) }

// roomData is the VideoRoom plugin's part of an event.
type roomData struct {
	VideoRoom string `json:"videoroom"`
	ID        uint64 `json:"id"`
	ErrorCode int    `json:"error_code"`
	Error     string `json:"error"`
}

func (e janusEvent) room() roomData {
	var d roomData
	if len(e.PluginData.Data) > 0 {
		_ = json.Unmarshal(e.PluginData.Data, &d)
	}
	return d
}

// newJanusClient creates a session and starts its long poll.
func newJanusClient(ctx context.Context, base string) (*janusClient, error) {
	c := &janusClient{
		base:    base,
		hc:      &http.Client{Timeout: 70 * time.Second}, // Janus holds a poll 30 s
		handles: map[uint64]chan janusEvent{},
		polling: make(chan struct{}),
	}
	r, err := c.post(ctx, base, map[string]any{"janus": "create"})
	if err != nil {
		return nil, fmt.Errorf("janus create session: %w", err)
	}
	c.session = r.Data.ID
	pctx, cancel := context.WithCancel(context.Background())
	c.stopPoll = cancel
	go c.poll(pctx)
	return c, nil
}

// post sends one request with a fresh transaction and returns the reply;
// a Janus "error" reply is an error.
func (c *janusClient) post(ctx context.Context, url string, body map[string]any) (janusEvent, error) {
	body["transaction"] = strconv.FormatUint(c.txn.Add(1), 10)
	b, err := json.Marshal(body)
	if err != nil {
		return janusEvent{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return janusEvent{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return janusEvent{}, err
	}
	defer resp.Body.Close()
	var e janusEvent
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		return janusEvent{}, fmt.Errorf("%s: %s: %w", url, resp.Status, err)
	}
	if e.Janus == "error" && e.Error != nil {
		return e, fmt.Errorf("janus error %d: %s", e.Error.Code, e.Error.Reason)
	}
	return e, nil
}

// poll long-polls the session's events and routes each to its handle.
func (c *janusClient) poll(ctx context.Context) {
	defer close(c.polling)
	url := fmt.Sprintf("%s/%d?maxev=32", c.base, c.session)
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.hc.Do(req)
		if err != nil {
			sleep(ctx, 100*time.Millisecond)
			continue
		}
		var raw json.RawMessage
		err = json.NewDecoder(resp.Body).Decode(&raw)
		resp.Body.Close()
		if err != nil {
			continue
		}
		var evs []janusEvent
		if raw = bytes.TrimSpace(raw); len(raw) > 0 && raw[0] == '[' {
			_ = json.Unmarshal(raw, &evs)
		} else {
			var e janusEvent
			if json.Unmarshal(raw, &e) == nil {
				evs = append(evs, e)
			}
		}
		for _, e := range evs {
			c.mu.Lock()
			ch := c.handles[e.Sender]
			c.mu.Unlock()
			if ch != nil {
				select {
				case ch <- e:
				default: // nobody waits for this handle's events any more
				}
			}
		}
	}
}

// close destroys the session (Janus hangs up and detaches every handle)
// and stops the poll.
func (c *janusClient) close() {
	c.stopPoll()
	<-c.polling
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = c.post(ctx, fmt.Sprintf("%s/%d", c.base, c.session), map[string]any{"janus": "destroy"})
}

// janusHandle is one attachment to the VideoRoom plugin.
type janusHandle struct {
	c      *janusClient
	id     uint64
	events chan janusEvent
}

func (c *janusClient) attach(ctx context.Context) (*janusHandle, error) {
	r, err := c.post(ctx, fmt.Sprintf("%s/%d", c.base, c.session),
		map[string]any{"janus": "attach", "plugin": "janus.plugin.videoroom"})
	if err != nil {
		return nil, fmt.Errorf("janus attach: %w", err)
	}
	h := &janusHandle{c: c, id: r.Data.ID, events: make(chan janusEvent, 64)}
	c.mu.Lock()
	c.handles[h.id] = h.events
	c.mu.Unlock()
	return h, nil
}

// message sends a plugin request (with jsep if not nil). The reply is the
// plugin's answer for synchronous requests, an "ack" for the others, whose
// answer comes as an event (wait).
func (h *janusHandle) message(ctx context.Context, body map[string]any, jsep *webrtc.SessionDescription) (janusEvent, error) {
	req := map[string]any{"janus": "message", "body": body}
	if jsep != nil {
		req["jsep"] = jsep
	}
	r, err := h.c.post(ctx, fmt.Sprintf("%s/%d/%d", h.c.base, h.c.session, h.id), req)
	if err != nil {
		return r, err
	}
	if d := r.room(); d.ErrorCode != 0 {
		return r, &roomError{code: d.ErrorCode, msg: d.Error}
	}
	return r, nil
}

// trickleDone tells Janus that every candidate of ours was in the SDP:
// without it Janus keeps waiting for trickled ones before failing ICE.
func (h *janusHandle) trickleDone(ctx context.Context) error {
	_, err := h.c.post(ctx, fmt.Sprintf("%s/%d/%d", h.c.base, h.c.session, h.id),
		map[string]any{"janus": "trickle", "candidate": map[string]any{"completed": true}})
	return err
}

// wait returns the handle's first plugin event whose videoroom field is
// kind, failing on a VideoRoom error event.
func (h *janusHandle) wait(ctx context.Context, kind string) (janusEvent, error) {
	for {
		select {
		case <-ctx.Done():
			return janusEvent{}, fmt.Errorf("waiting for videoroom %q: %w", kind, ctx.Err())
		case e := <-h.events:
			if e.Janus != "event" {
				continue // webrtcup, media, slowlink and the like
			}
			d := e.room()
			if d.ErrorCode != 0 {
				return e, &roomError{code: d.ErrorCode, msg: d.Error}
			}
			if d.VideoRoom == kind {
				return e, nil
			}
			if d.VideoRoom == "event" && kind != "event" && e.Jsep != nil {
				return e, nil // a configured event carrying the answer
			}
		}
	}
}

// waitCore returns the handle's first Janus core event of kind (webrtcup,
// media, hangup), skipping plugin events.
func (h *janusHandle) waitCore(ctx context.Context, kind string) error {
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for janus %q: %w", kind, ctx.Err())
		case e := <-h.events:
			if e.Janus == kind {
				return nil
			}
		}
	}
}

// errNoSuchFeed is VideoRoom's answer to a subscriber joining a publisher
// it does not (yet) count as publishing.
const errNoSuchFeed = 428

var errNoJsep = errors.New("janus: the event carries no SDP")
