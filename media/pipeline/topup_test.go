package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/voipd/voipd/hw"
)

// queuePlayback is a speaker with a queue ahead of its device, as
// hw/audio's (hw.RoomReporter beside hw.ReadyWaiter): Write queues
// without blocking while there is room, consume is the device taking a
// period, WaitReady waits for room. Each WaitReady announces the room it
// waits for on waiting.
type queuePlayback struct {
	mu        sync.Mutex
	cond      *sync.Cond
	size      int // samples the queue holds
	queued    int
	frames    int // frames written
	woke      int // WaitReady calls that returned
	underruns int // periods that found less than a period queued
	closed    bool
	waiting   chan int
}

func newQueuePlayback(frames int) *queuePlayback {
	p := &queuePlayback{size: frames * hw.FrameSamples, waiting: make(chan int, 64)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *queuePlayback) Room() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size - p.queued
}

func (p *queuePlayback) Write(frame []int16) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.closed && p.size-p.queued < len(frame) {
		p.cond.Wait()
	}
	if p.closed {
		return &hw.DeviceError{Op: "write", Device: "queue", Kind: hw.ErrClosed}
	}
	p.queued += len(frame)
	p.frames++
	return nil
}

func (p *queuePlayback) WaitReady(n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waiting <- n
	for !p.closed && p.size-p.queued < n {
		p.cond.Wait()
	}
	if p.closed {
		return &hw.DeviceError{Op: "wait", Device: "queue", Kind: hw.ErrClosed}
	}
	p.woke++
	return nil
}

// consume is the device playing one period.
func (p *queuePlayback) consume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.queued < hw.FrameSamples {
		p.underruns++
	}
	p.queued = max(0, p.queued-hw.FrameSamples)
	p.cond.Broadcast()
}

func (p *queuePlayback) counts() (frames, woke, underruns, queued int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.frames, p.woke, p.underruns, p.queued
}

func (p *queuePlayback) Info() hw.DeviceInfo { return hw.DeviceInfo{ID: "queue"} }
func (p *queuePlayback) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.cond.Broadcast()
	return nil
}

// TestSpeakerToppedUpFromTheMicrophone (issue 19): with a speaker that has
// a queue, the sender's wakeup after each captured frame (topUp) keeps the
// queue full, and the mix loop meanwhile waits for two frames of room, so
// the device's periods do not wake it; when the sender stops (a capture
// lost), the loop wakes once the queue is down to two frames, fills it,
// and waits for one frame again. Nothing underruns, every period is
// played, and the top-up allocates nothing.
func TestSpeakerToppedUpFromTheMicrophone(t *testing.T) {
	const frame = hw.FrameSamples
	dev := newQueuePlayback(4)
	recv := NewAudioReceiver(dev, testAudio(), 0, nil, nil)
	src := newRTPPipe(1, 0, 0) // a member that sends nothing: its frames are silence
	defer src.Close()
	recv.AddMember("door", src)
	ran := make(chan error, 1)
	go func() { ran <- recv.Run(context.Background()) }()

	// nextWait is the room the loop waits for next (after it played).
	nextWait := func() int { return <-dev.waiting }
	check := func(step string, wantFrames, wantWoke, wantQueued int) {
		t.Helper()
		frames, woke, under, queued := dev.counts()
		if frames != wantFrames || woke != wantWoke || under != 0 || queued != wantQueued {
			t.Fatalf("%s: %d frames written, the loop woke %d times, %d underruns, %d samples queued; want %d, %d, 0, %d",
				step, frames, woke, under, queued, wantFrames, wantWoke, wantQueued)
		}
	}

	// No sender yet: the loop fills the empty queue and waits for a frame.
	if n := nextWait(); n != frame {
		t.Fatalf("first wait for %d samples, want a frame", n)
	}
	if n := nextWait(); n != frame {
		t.Fatalf("wait for %d samples without a sender, want a frame", n)
	}
	check("start", 4, 1, 4*frame)
	recv.topUp() // the microphone's first frame: the queue is full, nothing to do
	check("a top-up of a full queue", 4, 1, 4*frame)
	dev.consume()
	if n := nextWait(); n != 2*frame {
		t.Fatalf("with a sender topping up, the loop waits for %d samples, want two frames", n)
	}
	check("the device's period before the sender's", 5, 2, 4*frame)

	// The sender's wakeups keep the queue full; the device's periods leave
	// one frame of room, which does not wake the loop.
	for i := range 50 {
		dev.consume()
		recv.topUp()
		check("a period topped up by the sender", 6+i, 2, 4*frame)
	}
	allocs := testing.AllocsPerRun(50, func() {
		dev.consume()
		recv.topUp()
	})
	if allocs != 0 {
		t.Errorf("a top-up: %v allocs per frame, want 0", allocs)
	}
	frames, _, _, _ := dev.counts()

	// The sender stops: the second period wakes the loop, which fills the
	// queue and goes back to waiting for a frame.
	dev.consume()
	check("one period without the sender", frames, 2, 3*frame)
	dev.consume()
	if n := nextWait(); n != frame {
		t.Fatalf("without the sender, the loop waits for %d samples, want a frame", n)
	}
	check("two periods without the sender", frames+2, 3, 4*frame)
	dev.consume()
	if n := nextWait(); n != frame {
		t.Fatalf("the loop waits for %d samples, want a frame", n)
	}
	check("the loop alone", frames+3, 4, 4*frame)

	dev.Close()
	if err := <-ran; !errors.Is(err, hw.ErrClosed) {
		t.Fatalf("Run = %v, want the closed device's error", err)
	}
	recv.topUp() // after Run: leaves the device alone
	if f, _, _, _ := dev.counts(); f != frames+3 {
		t.Fatalf("a top-up after Run wrote %d frames", f-frames-3)
	}
}

// A speaker without a queue (a paced slot, hw/synth's sink) is never
// topped up: its Write would block the sender.
func TestNoTopUpWithoutAQueue(t *testing.T) {
	dev := newRecordPlayback()
	defer dev.Close()
	recv := NewAudioReceiver(dev, testAudio(), 0, nil, nil)
	if q := queueOf(dev, nil); q != nil {
		t.Fatal("a playback without a queue taken for one")
	}
	recv.topUp()
	if n := dev.count(); n != 0 {
		t.Fatalf("top-up wrote %d frames to a device without a queue", n)
	}
}
