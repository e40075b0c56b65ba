package room_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// Visitors come and go while one member stays: the staying member hears
// each new visitor (its media section reused for the next), and each
// departure ends the visitor's track there.
func TestVisitorsComeAndGo(t *testing.T) {
	srv := startServer(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rs := newRecorder()
	stay := join(t, srv, "stay", "churn", rs)
	go sendAudio(ctx, t, stay, "stay")
	for i := range 5 {
		name := fmt.Sprintf("visitor-%d", i)
		rv := newRecorder()
		v := join(t, srv, name, "churn", rv)
		vctx, vcancel := context.WithCancel(ctx)
		go sendAudio(vctx, t, v, name)
		rs.waitPacketFrom(t, name)
		rv.waitPacketFrom(t, "stay")
		lctx, lcancel := context.WithTimeout(ctx, 10*time.Second)
		if err := v.Leave(lctx); err != nil {
			t.Fatal(err)
		}
		lcancel()
		vcancel()
		waitEnded(t, rs, name)
		rs.waitMembers(t, "stay")
	}
}
