package intercept

import (
	"math"
	"sync"
	"time"
)

// Google Congestion Control (draft-ietf-rmcat-gcc-02), the parts pion's
// gcc package has, with libwebrtc's trendline filter for the delay
// gradient, on fixed-size state: packets are grouped by departure
// (§5.2), the groups' delay variation goes through the trendline and an
// adaptive threshold (§5.4) to an over/under-use signal, which drives an
// AIMD rate (§5.5: ×1.08 a second, ×0.85 of the received rate on
// over-use). Losses drive the loss-based rate (§6: ×(1-loss/2) above 10 %,
// ×1.05 below 2 %). The estimate is the lower of the two.
const (
	burstTime       = 5 * time.Millisecond
	trendWindow     = 20   // arrival groups in the trendline's regression
	trendSmoothing  = 0.9  // of the accumulated delay
	trendGain       = 4.0  // libwebrtc's threshold gain
	thresholdStart  = 12.5 // ms
	kUp, kDown      = 0.0087, 0.039
	overuseTime     = 10 * time.Millisecond
	beta            = 0.85
	rateWindow      = 500 * time.Millisecond // of the received rate
	lossMinPackets  = 20                     // and lossMinWindow: a loss share needs both
	lossMinWindow   = 200 * time.Millisecond
	decreaseHoldoff = 200 * time.Millisecond // between delay-based decreases
)

type signal int

const (
	normal signal = iota
	overusing
	underusing
)

// estimator is the estimate's state; acked, lost and update run under mu.
type estimator struct {
	mu       sync.Mutex
	min, max float64
	start    float64

	delayRate, lossRate, rate float64
	lastUpdate                int64 // ns, local; 0 before the first update

	// Arrival groups: the one being filled and the one before.
	group, prev struct {
		first, sent, arrival int64 // ns: first and last departure, last arrival
		ok                   bool
	}
	// Trendline.
	firstArrival   int64
	accDelay       float64
	smoothed       float64
	xs, ys         [trendWindow]float64
	n, deltas      int
	threshold      float64
	lastThreshold  int64 // arrival ns of the last threshold update
	prevTrend      float64
	overuseFor     time.Duration
	overuseCount   int
	sig            signal
	lastDecrease   int64
	receivedRate   float64 // bit/s over the last rateWindow of arrivals
	winBytes       int
	winStart       int64 // arrival ns
	lossN, lossOut int   // packets and lost packets in the loss window
	lossStart      int64 // local ns
}

func newEstimator(initial, lo, hi int) *estimator {
	initial = min(max(initial, lo), hi)
	return &estimator{min: float64(lo), max: float64(hi), start: float64(initial),
		delayRate: float64(initial), lossRate: float64(initial), rate: float64(initial), threshold: thresholdStart}
}

func (e *estimator) initial() int { return int(e.start) }

// lost counts a packet the feedback reported missing.
func (e *estimator) lost() {
	e.lossN++
	e.lossOut++
}

// acked takes a packet sent at sent (local ns) that arrived at arrival
// (the receiver's ns) with size bytes.
func (e *estimator) acked(sent, arrival int64, size int) {
	e.lossN++
	// Received rate.
	if e.winBytes == 0 && e.winStart == 0 || arrival < e.winStart {
		e.winStart = arrival
	}
	e.winBytes += size
	if span := arrival - e.winStart; span >= int64(rateWindow) {
		e.receivedRate = float64(e.winBytes*8) / (float64(span) / 1e9)
		e.winBytes, e.winStart = 0, arrival
	}
	// Arrival groups by departure.
	g := &e.group
	if !g.ok {
		g.first, g.sent, g.arrival, g.ok = sent, sent, arrival, true
		return
	}
	if sent < g.first {
		return // reordered behind its group: no information
	}
	if sent-g.first <= int64(burstTime) {
		g.sent = max(g.sent, sent)
		g.arrival = max(g.arrival, arrival)
		return
	}
	if e.prev.ok {
		dArr := float64(g.arrival-e.prev.arrival) / 1e6 // ms
		dSent := float64(g.sent-e.prev.sent) / 1e6
		e.trend(g.arrival, dArr, dArr-dSent)
	}
	e.prev = *g
	g.first, g.sent, g.arrival = sent, sent, arrival
}

// trend adds one group's delay variation d (ms), dArr ms after the group
// before, which arrived at arrival (ns), and sets the signal.
func (e *estimator) trend(arrival int64, dArr, d float64) {
	if e.n == 0 && e.deltas == 0 {
		e.firstArrival = arrival
	}
	e.deltas = min(e.deltas+1, 60)
	e.accDelay += d
	e.smoothed = trendSmoothing*e.smoothed + (1-trendSmoothing)*e.accDelay
	x := float64(arrival-e.firstArrival) / 1e6
	if e.n < trendWindow {
		e.xs[e.n], e.ys[e.n] = x, e.smoothed
		e.n++
	} else {
		copy(e.xs[:], e.xs[1:])
		copy(e.ys[:], e.ys[1:])
		e.xs[trendWindow-1], e.ys[trendWindow-1] = x, e.smoothed
	}
	if e.n < trendWindow {
		return
	}
	var mx, my float64
	for i := range e.n {
		mx += e.xs[i]
		my += e.ys[i]
	}
	mx /= float64(e.n)
	my /= float64(e.n)
	var num, den float64
	for i := range e.n {
		num += (e.xs[i] - mx) * (e.ys[i] - my)
		den += (e.xs[i] - mx) * (e.xs[i] - mx)
	}
	slope := 0.0
	if den != 0 {
		slope = num / den
	}
	m := slope * float64(e.deltas) * trendGain
	switch {
	case m > e.threshold:
		e.overuseFor += time.Duration(dArr * float64(time.Millisecond))
		e.overuseCount++
		if e.overuseFor > overuseTime && e.overuseCount > 1 && m >= e.prevTrend {
			e.overuseFor, e.overuseCount = 0, 0
			e.sig = overusing
		}
	case m < -e.threshold:
		e.overuseFor, e.overuseCount = 0, 0
		e.sig = underusing
	default:
		e.overuseFor, e.overuseCount = 0, 0
		e.sig = normal
	}
	e.prevTrend = m
	// Adaptive threshold (§5.4), not moved by outliers.
	if am := math.Abs(m); am < e.threshold+15 {
		k := kDown
		if am > e.threshold {
			k = kUp
		}
		dt := math.Min(float64(arrival-e.lastThreshold)/1e6, 100)
		if e.lastThreshold == 0 {
			dt = 0
		}
		e.threshold = math.Min(math.Max(e.threshold+k*(am-e.threshold)*dt, 6), 600)
	}
	e.lastThreshold = arrival
}

// update moves the rates after a feedback packet, at now (local ns), and
// returns the estimate and whether it changed.
func (e *estimator) update(now int64) (int, bool) {
	dt := 0.0
	if e.lastUpdate != 0 {
		dt = math.Min(float64(now-e.lastUpdate)/1e9, 1)
	}
	e.lastUpdate = now
	// Delay-based AIMD (pion's rate controller: the increase stops at 1.5×
	// the received rate only while that is above the rate).
	switch e.sig {
	case overusing:
		if now-e.lastDecrease >= int64(decreaseHoldoff) {
			r := e.receivedRate
			if r == 0 {
				r = e.delayRate
			}
			e.delayRate = beta * r
			e.lastDecrease = now
		}
	case normal:
		next := e.delayRate * math.Pow(1.08, dt)
		if recv := 1.5 * e.receivedRate; next > recv && recv > e.delayRate {
			next = recv
		}
		e.delayRate = next
	}
	e.delayRate = math.Min(math.Max(e.delayRate, e.min), e.max)
	// Loss-based, over windows long enough for a share to mean something.
	if e.lossStart == 0 {
		e.lossStart = now
	}
	if e.lossN >= lossMinPackets && now-e.lossStart >= int64(lossMinWindow) {
		loss := float64(e.lossOut) / float64(e.lossN)
		switch {
		case loss > 0.1:
			e.lossRate = e.rate * (1 - 0.5*loss)
		case loss < 0.02:
			e.lossRate = math.Max(e.lossRate, e.rate*1.05)
		}
		e.lossRate = math.Min(math.Max(e.lossRate, e.min), e.max)
		e.lossN, e.lossOut, e.lossStart = 0, 0, now
	}
	rate := math.Min(math.Max(math.Min(e.delayRate, e.lossRate), e.min), e.max)
	changed := int(rate) != int(e.rate)
	e.rate = rate
	return int(rate), changed
}
