package audio

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"

	"github.com/voipd/voipd/hw"
)

// errStopped reports that the backend stopped the device (unplugged, server
// gone) while it was open.
var errStopped = errors.New("device stopped by the backend")

// stoppedError is the error of a Read or Write on a stopped device: closed
// if Close stopped it, else unavailable (the backend stopped it, or it
// stalled: why).
func stoppedError(op, id string, done <-chan struct{}, why error) error {
	select {
	case <-done:
		return &hw.DeviceError{Op: op, Device: id, Kind: hw.ErrClosed}
	default:
		return &hw.DeviceError{Op: op, Device: id, Kind: hw.ErrUnavailable, Err: why}
	}
}

// device is what an open microphone and an open speaker share: the malgo
// device, its lifecycle (closed, stopped by the backend, stalled), and the
// one Go waiter's wait on the wakeups of its C callback.
type device struct {
	sys  *System
	dev  *malgo.Device
	info hw.DeviceInfo
	wk   *waker

	done    chan struct{} // closed by Close
	stopped atomic.Bool   // the backend stopped the device
	stalled atomic.Bool   // stopped because the callbacks stopped (watchStall)
	once    sync.Once
	period  time.Duration

	// The one waiter's wait: until have() reaches want (or done, or
	// stopped). Made once, so waiting allocates nothing.
	want    int
	have    func() int
	waitFor func(uintptr) bool
	// tell, when set, tells the C callback the room the waiter waits for,
	// so a callback that leaves less does not wake it (the speaker).
	tell func(want int)
}

// init readies d for a device whose callback wakes wk and whose waiter
// waits for have() samples (captured, or of room).
func (d *device) init(wk *waker, period time.Duration, have func() int) {
	d.wk, d.period, d.have, d.done = wk, period, have, make(chan struct{})
	d.waitFor = wk.waitFunc(d.ready)
}

// ready is the waiter's condition.
func (d *device) ready() bool {
	select {
	case <-d.done:
		return true
	default:
	}
	return d.stopped.Load() || d.have() >= d.want
}

func (d *device) onStop() {
	d.stopped.Store(true)
	d.wk.signal()
}

// stall is watchStall's verdict: the device stopped calling back.
func (d *device) stall() {
	d.stalled.Store(true)
	d.onStop()
}

// why says how the backend stopped the device.
func (d *device) why() error {
	if d.stalled.Load() {
		return errStalled
	}
	return errStopped
}

// await blocks until have() reaches n, the device closes (hw.ErrClosed) or
// stops (hw.ErrUnavailable, with why); op names the caller's operation.
func (d *device) await(op string, n int) error {
	for {
		select {
		case <-d.done:
			return &hw.DeviceError{Op: op, Device: d.info.ID, Kind: hw.ErrClosed}
		default:
		}
		if d.have() >= n {
			return nil
		}
		if d.stopped.Load() {
			return stoppedError(op, d.info.ID, d.done, d.why())
		}
		d.want = n
		if d.tell != nil {
			d.tell(n) // before wait's first look at have(): see voipd_speaker_fill
		}
		if err := d.wk.wait(d.waitFor); err != nil {
			select {
			case <-d.done:
			default:
				return &hw.DeviceError{Op: op, Device: d.info.ID, Kind: hw.ErrUnavailable, Err: err}
			}
		}
	}
}

// close unblocks the waiter, stops and frees the device (which waits for a
// running callback to return), then closes the wakeup fds; self is the
// device as System tracks it. The ring's memory goes with the last
// reference (newMic, newSpeaker).
func (d *device) close(self closer) {
	d.once.Do(func() {
		close(d.done)
		d.wk.signal()
		if d.sys != nil {
			d.sys.untrack(self)
		}
		if d.dev != nil {
			stopAndFree(d.dev)
		}
		d.wk.close()
	})
}
