package roomd_test

import (
	"context"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
)

// TestBrowserAccessibility (issue 20): axe-core finds no serious or
// critical violation on the page in each state a visitor meets it in
// (before joining, in a room with another member, after an error, with
// the microphone refused), in both languages; lesser findings are logged.
func TestBrowserAccessibility(t *testing.T) {
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	check := func(t *testing.T, p *browsertest.Page, what string) {
		t.Helper()
		p.CheckAxe(ctx, t, what)
	}
	for _, lang := range []string{"en", "zh"} {
		t.Run(lang, func(t *testing.T) {
			p, err := b.Open(ctx, srv.URL()+"/?lang="+lang+"&groupId=a11y-"+lang+"&openid=ann")
			if err != nil {
				t.Fatal(err)
			}
			check(t, p, "before joining")
			other, err := b.Open(ctx, srv.URL()+"/?lang="+lang+"&groupId=a11y-"+lang+"&openid=bo&autojoin=1")
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Eval(ctx, `document.querySelector("#join").click()`, nil); err != nil {
				t.Fatal(err)
			}
			if err := p.WaitFor(ctx, `window.voipd.state === "joined" && window.voipd.members.length === 2`); err != nil {
				t.Fatal(err)
			}
			check(t, p, "in a room of two")
			if err := p.Eval(ctx, `document.querySelector("#mute").click()`, nil); err != nil {
				t.Fatal(err)
			}
			check(t, p, "muted")
			other.Close()
			pe, err := b.Open(ctx, srv.URL()+"/?lang="+lang+"&groupId=a11y&openid=eve&autojoin=1&appId=wx20afc706a711eefc&nonceStr=n&timeStamp=1&signature=00")
			if err != nil {
				t.Fatal(err)
			}
			if err := pe.WaitFor(ctx, `window.voipd.state === "error"`); err != nil {
				t.Fatal(err)
			}
			check(t, pe, "after an error")
			pr, err := b.OpenWith(ctx, srv.URL()+"/?lang="+lang+"&groupId=a11y&openid=shy&autojoin=1", refuseMedia)
			if err != nil {
				t.Fatal(err)
			}
			if err := pr.WaitFor(ctx, `window.voipd.state === "error" && !document.querySelector("#error .help").hidden`); err != nil {
				t.Fatal(err)
			}
			check(t, pr, "the microphone refused, with advice")
		})
	}
}
