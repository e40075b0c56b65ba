package main

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/voipd/voipd/internal/bench"
)

// cmdJoin measures joinVoIPChat request → result over the control socket
// (one voipd process, roomd in this process, loopback), in voice and video
// rooms, then join → the first frame of voipd's video decoded in a
// headless Chromium already in the room.
func cmdJoin(args []string) error {
	fs := newFlags("join")
	joins := fs.Int("n", 50, "joins per room type")
	ffRuns := fs.Int("first-frame", 5, "joins timed to Chromium's first decoded frame (0: skip)")
	fs.Parse(args)
	rm, dir, done, err := roomAndDir("voipbench-join-")
	if err != nil {
		return err
	}
	defer done()
	p, err := startVoipd(dir, "a", daemonConfig(dir+"/a", "bench-a", rm.ws, rm.secret))
	if err != nil {
		return err
	}
	defer p.stop()
	c, err := p.waitSocket(10 * time.Second)
	if err != nil {
		return err
	}
	defer c.close()

	var rows []bench.Row
	for _, roomType := range []string{"voice", "video"} {
		var ms []float64
		for i := range *joins {
			t0 := time.Now()
			if _, err := c.call("joinVoIPChat", rm.joinParams("bench-a", fmt.Sprintf("j-%s-%d", roomType, i), roomType)); err != nil {
				return err
			}
			ms = append(ms, float64(time.Since(t0))/float64(time.Millisecond))
			if _, err := c.call("exitVoIPChat", nil); err != nil {
				return err
			}
		}
		rows = append(rows,
			bench.Row{What: fmt.Sprintf("joinVoIPChat → result, %s room, p50", roomType), Ours: bench.Median(ms), Anchor: math.NaN(), Unit: "ms", Goal: bench.Goal{Max: 25, Label: "≤ 25 ms"}},
			bench.Row{What: fmt.Sprintf("joinVoIPChat → result, %s room, p95", roomType), Ours: bench.Percentile(ms, 95), Anchor: math.NaN(), Unit: "ms"})
		progress("%d %s joins: p50 %.1f ms, p95 %.1f ms", *joins, roomType, bench.Median(ms), bench.Percentile(ms, 95))
	}

	ffNote := "not measured (-first-frame 0)"
	if *ffRuns > 0 {
		ff, jr, err := firstFrames(rm, c, *ffRuns)
		if err != nil {
			return err
		}
		rows = append(rows,
			bench.Row{What: "join → first frame decoded in Chromium, p50", Ours: bench.Median(ff), Anchor: math.NaN(), Unit: "ms", Goal: bench.Goal{Max: 300, Label: "≤ 300 ms"}},
			bench.Row{What: "join → first frame decoded in Chromium, max", Ours: bench.Percentile(ff, 100), Anchor: math.NaN(), Unit: "ms"},
			bench.Row{What: "joinVoIPChat → result with Chromium in the room, p50", Ours: bench.Median(jr), Anchor: math.NaN(), Unit: "ms"})
		ffNote = fmt.Sprintf("%d joins, each into a fresh room that a headless Chromium (the browser client) has joined first", *ffRuns)
	}
	fmt.Printf("### Join\n\n%d joins per room type, each followed by exitVoIPChat, one voipd process (synthetic devices) and\n", *joins)
	fmt.Printf("roomd on 127.0.0.1, timed from writing the request to reading the result on the control socket.\n")
	fmt.Printf("First frame: %s; from writing the join request to the page seeing framesDecoded > 0\n", ffNote)
	fmt.Printf("for voipd's video in getStats (polled in the page every 5 ms; both ends read the same wall clock).\n\n")
	fmt.Print(bench.Table(rows))
	return nil
}

// pollFirstFrame resolves, in the page, to the wall-clock time (ms since
// the epoch) when member's video first has a decoded frame.
const pollFirstFrame = `(async () => {
  for (;;) {
    const s = await window.voipd.stats();
    if (s.inboundVideo.some(v => v.member === %q && v.framesDecoded > 0)) return performance.timeOrigin + performance.now();
    await new Promise(r => setTimeout(r, 5));
  }
})()`

func firstFrames(rm *room, c *ctl, runs int) (firstFrame, joinResult []float64, err error) {
	b, err := startBrowser(context.Background())
	if err != nil {
		return nil, nil, err
	}
	defer b.cancel()
	if err := b.pin(*clientCPU); err != nil {
		return nil, nil, err
	}
	for i := range runs {
		group := fmt.Sprintf("ff-%d", i)
		if err := b.navigate(fmt.Sprintf("%s/?groupId=%s&openid=viewer&autojoin=1&roomType=video", rm.srv.URL(), group)); err != nil {
			return nil, nil, err
		}
		if err := b.waitFor(`window.voipd && window.voipd.state === "joined"`, 30*time.Second); err != nil {
			return nil, nil, err
		}
		seen := make(chan error, 1)
		var at float64
		go func() { seen <- b.eval(30*time.Second, fmt.Sprintf(pollFirstFrame, "bench-a"), &at) }()
		time.Sleep(200 * time.Millisecond) // the poll is running
		t0 := time.Now()
		if _, err := c.call("joinVoIPChat", rm.joinParams("bench-a", group, "video")); err != nil {
			return nil, nil, err
		}
		joinResult = append(joinResult, float64(time.Since(t0))/float64(time.Millisecond))
		if err := <-seen; err != nil {
			return nil, nil, fmt.Errorf("first frame in chromium: %w", err)
		}
		firstFrame = append(firstFrame, at-float64(t0.UnixNano())/1e6)
		progress("first frame %d: %.0f ms after the join request", i, firstFrame[len(firstFrame)-1])
		if _, err := c.call("exitVoIPChat", nil); err != nil {
			return nil, nil, err
		}
	}
	return firstFrame, joinResult, nil
}
