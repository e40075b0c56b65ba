package control

import "sync"

// item is one line waiting for a client's writer.
type item struct {
	line   []byte
	answer bool // an answer to a request (never dropped) rather than an event
}

type pushResult int

const (
	pushed     pushResult = iota
	pushFull              // the event budget is used up: the subscriber is not reading
	pushClosed            // the client is going away; the item was not queued
)

type queueState int

const (
	queueOpen     queueState = iota
	queueDraining            // no new items; the writer writes what is queued, then stops
	queueAborted             // no new items; nothing more is written
)

// outQueue is a client's FIFO of lines for its writer. Answers and events
// share it so a client sees them in the order they happened (the answer to
// subscribe before the first event). Answers are bounded elsewhere (one per
// in-flight request); events are bounded here, by the subscriber budget.
type outQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	items  []item
	events int // events in items
	state  queueState
}

func newOutQueue() *outQueue {
	q := &outQueue{}
	q.cond.L = &q.mu
	return q
}

// push appends it. An event is refused with pushFull when eventCap events
// are already waiting.
func (q *outQueue) push(it item, eventCap int) pushResult {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state != queueOpen {
		return pushClosed
	}
	if !it.answer {
		if q.events >= eventCap {
			return pushFull
		}
		q.events++
	}
	q.items = append(q.items, it)
	q.cond.Signal()
	return pushed
}

// pop waits for the next item. It returns false when the writer should stop:
// the queue was aborted, or it is draining and empty.
func (q *outQueue) pop() (item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && q.state == queueOpen {
		q.cond.Wait()
	}
	if len(q.items) == 0 || q.state == queueAborted {
		return item{}, false
	}
	it := q.items[0]
	q.items[0] = item{}
	q.items = q.items[1:]
	if !it.answer {
		q.events--
	}
	return it, true
}

// drain stops new items; the writer finishes what is queued.
func (q *outQueue) drain() {
	q.mu.Lock()
	if q.state == queueOpen {
		q.state = queueDraining
	}
	q.cond.Broadcast()
	q.mu.Unlock()
}

// abort stops the queue at once and returns the items that will never be
// written, so the caller can release what they hold.
func (q *outQueue) abort() []item {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.state = queueAborted
	left := q.items
	q.items, q.events = nil, 0
	q.cond.Broadcast()
	return left
}
