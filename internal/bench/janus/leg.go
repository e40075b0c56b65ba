package janus

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// Starter puts a publisher and n subscribers into a fresh room on the
// server under test, starts the publisher's media, hands every subscriber's
// tracks to sinks and returns once everyone is connected. stop tears it
// all down.
type Starter func(ctx context.Context, n int, sinks *Sinks) (pub *Publisher, stop func(), err error)

// Config is one leg: a server, its process and the N to measure it at.
type Config struct {
	Server string        // "roomd" or "Janus", as the report names it
	PID    int           // the server's process, for /proc/PID/stat
	Ns     []int         // subscriber counts, one window each
	Window time.Duration // the measured window per N
	Warmup time.Duration // the longest wait for media to flow to every sink
	Log    io.Writer     // progress, for people
}

// Measure runs one window per N, one after the other, each in a fresh room.
func Measure(ctx context.Context, cfg Config, start Starter) ([]Point, error) {
	if cfg.Warmup <= 0 {
		cfg.Warmup = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	hz := ClockTicks()
	var points []Point
	for _, n := range cfg.Ns {
		p, err := measureOne(ctx, cfg, start, n, hz)
		if err != nil {
			return points, fmt.Errorf("%s at N=%d: %w", cfg.Server, n, err)
		}
		fmt.Fprintf(cfg.Log, "%s N=%d: server %.1f %% CPU, %.0f µs/s per stream, delivered %.1f %%, generator %.1f %% (setup %.1f s)\n",
			cfg.Server, n, p.ServerCPU*100, p.MicrosPerStream(), p.Delivered()*100, p.GenCPU*100, p.SetupSecond)
		points = append(points, p)
	}
	return points, nil
}

func measureOne(ctx context.Context, cfg Config, start Starter, n int, hz float64) (Point, error) {
	t0 := time.Now()
	sinks := &Sinks{}
	pub, stop, err := start(ctx, n, sinks)
	if err != nil {
		return Point{}, err
	}
	defer func() {
		stop()
		// Let the server finish tearing the room down before the next
		// room's joins start.
		sleep(ctx, 2*time.Second)
	}()
	if !waitFlowing(ctx, pub, sinks, n, cfg.Warmup) {
		fmt.Fprintf(cfg.Log, "%s N=%d: the sinks never got 95 %% of the packets within %s; measuring anyway\n",
			cfg.Server, n, cfg.Warmup)
	}
	setup := time.Since(t0).Seconds()
	sleep(ctx, time.Second) // keyframe requests and renegotiations settle

	c0, err := ReadCPUTicks(cfg.PID)
	if err != nil {
		return Point{}, err
	}
	g0, _ := ReadCPUTicks(0)
	s0, r0, w0 := pub.Sent(), sinks.Received(), time.Now()
	sleep(ctx, cfg.Window)
	c1, err := ReadCPUTicks(cfg.PID)
	if err != nil {
		return Point{}, err
	}
	g1, _ := ReadCPUTicks(0)
	s1, r1, secs := pub.Sent(), sinks.Received(), time.Since(w0).Seconds()
	if ctx.Err() != nil {
		return Point{}, ctx.Err()
	}
	return Point{
		Server:      cfg.Server,
		N:           n,
		Seconds:     secs,
		ServerCPU:   float64(c1-c0) / hz / secs,
		GenCPU:      float64(g1-g0) / hz / secs,
		Sent:        s1 - s0,
		Received:    r1 - r0,
		SetupSecond: setup,
	}, nil
}

// waitFlowing waits until, over one second, the sinks received at least
// 95 % of what the publisher sent times n.
func waitFlowing(ctx context.Context, pub *Publisher, sinks *Sinks, n int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		s0, r0 := pub.Sent(), sinks.Received()
		sleep(ctx, time.Second)
		sent, got := pub.Sent()-s0, sinks.Received()-r0
		if sent > 0 && float64(got) >= 0.95*float64(sent)*float64(n) {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// closeAll closes peer connections (or anything with Close) concurrently.
func closeAll[T interface{ Close() error }](cs []T) {
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Close()
		}()
	}
	wg.Wait()
}

// parallel runs fn for 0..n-1, joinParallel at a time, and returns the
// first error (the others' ctx is cancelled then).
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, joinParallel)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, i); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	return context.Cause(ctx)
}
