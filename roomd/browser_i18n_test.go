package roomd_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
)

// i18nTables reads i18n.js' tables from the page.
func i18nTables(ctx context.Context, t *testing.T, p *browsertest.Page) map[string]map[string]string {
	t.Helper()
	var tables map[string]map[string]string
	if err := p.Eval(ctx, `import("/i18n.js").then(m => m.strings)`, &tables); err != nil {
		t.Fatal(err)
	}
	return tables
}

// pageText is what the page shows: its visible text nodes, and the
// titles and labels of its elements.
const pageText = `(() => {
	const out = [];
	const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = walk.nextNode(); n; n = walk.nextNode()) {
		const el = n.parentElement;
		if (!n.textContent.trim() || !el || el.closest("[hidden]") || el.closest("script,style,voip-room")) continue;
		// A device's name is the system's, not the page's (the Devices panel).
		if (el.closest('.devices option:not([value=""])')) continue;
		out.push(n.textContent.trim());
	}
	for (const el of document.querySelectorAll("[title],[aria-label]")) {
		if (el.title) out.push(el.title);
		if (el.getAttribute("aria-label")) out.push(el.getAttribute("aria-label"));
	}
	out.push(document.title);
	return out;
})()`

// TestBrowserLanguages (issue 20): the page speaks English and Chinese,
// every string from i18n.js' one table per language, chosen from the
// browser's language, with a switch whose choice is kept, and ?lang=.
func TestBrowserLanguages(t *testing.T) {
	srv := startRoomd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("one table per language, every key used is there", func(t *testing.T) {
		b := browsertest.Start(t)
		p, err := b.Open(ctx, srv.URL()+"/?groupId=g1&openid=ann")
		if err != nil {
			t.Fatal(err)
		}
		tables := i18nTables(ctx, t, p)
		en, zh := tables["en"], tables["zh"]
		if len(en) < 40 || len(tables) != 2 {
			t.Fatalf("tables: %d languages, %d English strings", len(tables), len(en))
		}
		for k, v := range en {
			if strings.TrimSpace(v) == "" || strings.TrimSpace(zh[k]) == "" {
				t.Errorf("key %q: English %q, Chinese %q", k, v, zh[k])
			}
		}
		for k := range zh {
			if _, ok := en[k]; !ok {
				t.Errorf("key %q is Chinese only", k)
			}
		}
		// Every key the page's files name: data-i18n* in the HTML, t('...')
		// and the states the scripts make keys of.
		var used []string
		html, _ := os.ReadFile("web/index.html")
		for _, m := range regexp.MustCompile(`data-i18n(?:-title|-label)?="([^"]+)"`).FindAllStringSubmatch(string(html), -1) {
			used = append(used, m[1])
		}
		for _, f := range []string{"web/app.js", "web/call.js"} {
			js, _ := os.ReadFile(f)
			for _, m := range regexp.MustCompile(`\bt\('([^']+)'`).FindAllStringSubmatch(string(js), -1) {
				if !strings.HasSuffix(m[1], ".") {
					used = append(used, m[1])
				}
			}
		}
		for _, s := range []string{"idle", "joining", "joined", "reconnecting", "left", "error"} {
			used = append(used, "state."+s)
		}
		for _, s := range []string{"idle", "ringing", "calling", "inCall", "reconnecting", "ended"} {
			used = append(used, "callState."+s)
		}
		for _, r := range []string{"signature", "timestamp", "replay", "unreachable", "timeout", "room_full", "not_in_room",
			"scope", "absent", "permission", "busy", "disabled", "params", "internal", "interrupted", "declined",
			"no_answer", "offline", "listener_busy", "remote", "local"} {
			used = append(used, "reason."+r)
		}
		for _, k := range []string{"chromium", "firefox", "safari-ios", "safari", "wechat", "other"} {
			used = append(used, "help.permission."+k)
		}
		if len(used) < 50 {
			t.Fatalf("found only %d keys in the page's files", len(used))
		}
		for _, k := range used {
			if _, ok := en[k]; !ok {
				t.Errorf("the page uses %q, which the tables lack", k)
			}
		}
	})

	t.Run("English by default, Chinese by the switch, kept, ?lang= first", func(t *testing.T) {
		b := browsertest.Start(t)
		p, err := b.Open(ctx, srv.URL()+"/?groupId=g1&openid=ann")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitFor(ctx, `document.documentElement.lang === "en" &&
			document.querySelector("#join").textContent === "Join with microphone" &&
			document.querySelector("#state").textContent === "Not connected" &&
			document.querySelector("#lang").textContent === "中文" &&
			document.querySelector("#lang span").lang === "zh-CN"`); err != nil {
			t.Fatal(err)
		}
		if err := p.Eval(ctx, `document.querySelector("#lang").click()`, nil); err != nil {
			t.Fatal(err)
		}
		chinese := `document.documentElement.lang === "zh-CN" &&
			document.querySelector("#join").textContent === "使用麦克风加入" &&
			document.querySelector("#state").textContent === "未连接" &&
			document.querySelector("#call-state").textContent === "无通话" &&
			document.querySelector("#lang").textContent === "English" &&
			document.querySelector("#lang").title === "将页面切换为英文"`
		if err := p.WaitFor(ctx, chinese); err != nil {
			t.Fatal(err)
		}
		assertNoEnglish(ctx, t, p)
		// The choice outlives the page.
		p2, err := b.Open(ctx, srv.URL()+"/?groupId=g1&openid=ann")
		if err != nil {
			t.Fatal(err)
		}
		if err := p2.WaitFor(ctx, chinese); err != nil {
			t.Fatalf("a new page after the switch: %v", err)
		}
		p3, err := b.Open(ctx, srv.URL()+"/?groupId=g1&openid=ann&lang=en&roomType=video")
		if err != nil {
			t.Fatal(err)
		}
		if err := p3.WaitFor(ctx, `document.documentElement.lang === "en" &&
			document.querySelector("#join").textContent === "Join with camera and microphone"`); err != nil {
			t.Fatalf("?lang=en: %v", err)
		}
	})

	t.Run("Chinese from the browser's language, in a room and in an error", func(t *testing.T) {
		b := browsertest.StartWith(t, browsertest.Options{Lang: "zh-CN"})
		p, err := b.Open(ctx, srv.URL()+"/?groupId=g2&openid=bei&autojoin=1")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitFor(ctx, `window.voipd.state === "joined" &&
			document.documentElement.lang === "zh-CN" &&
			document.querySelector("#state").textContent === "已在房间中" &&
			document.querySelector("#mute").textContent === "关闭麦克风"`); err != nil {
			t.Fatal(err)
		}
		if err := p.Eval(ctx, `document.querySelector("#mute").click()`, nil); err != nil {
			t.Fatal(err)
		}
		if err := p.WaitFor(ctx, `document.querySelector("#mute").textContent === "打开麦克风" &&
			document.querySelector("#mute").getAttribute("aria-pressed") === "true" &&
			document.querySelector("#members voip-room.self").shadowRoot.querySelector(".badge").textContent === "已静音"`); err != nil {
			t.Fatal(err)
		}
		assertNoEnglish(ctx, t, p)
		// The switch rewrites what the scripts wrote, not only the HTML.
		if err := p.Eval(ctx, `document.querySelector("#lang").click()`, nil); err != nil {
			t.Fatal(err)
		}
		if err := p.WaitFor(ctx, `document.querySelector("#state").textContent === "In the room" &&
			document.querySelector("#mute").textContent === "Unmute microphone" &&
			document.querySelector("#members voip-room.self").shadowRoot.querySelector(".badge").textContent === "muted"`); err != nil {
			t.Fatal(err)
		}
		// An error's reason in words (the reason word and the server's
		// message stay as they came): a join signed in 1970.
		q := "/?lang=zh&groupId=g2&openid=mallory&autojoin=1&appId=wx20afc706a711eefc&nonceStr=n1&timeStamp=1&signature=00"
		pe, err := b.Open(ctx, srv.URL()+q)
		if err != nil {
			t.Fatal(err)
		}
		if err := pe.WaitFor(ctx, `window.voipd.state === "error" && !document.querySelector("#error").hidden &&
			document.querySelector("#error .words").textContent.length > 0`); err != nil {
			t.Fatal(err)
		}
		var words, reason string
		if err := pe.Eval(ctx, `document.querySelector("#error .words").textContent`, &words); err != nil {
			t.Fatal(err)
		}
		if err := pe.Eval(ctx, `window.voipd.lastError.reason`, &reason); err != nil {
			t.Fatal(err)
		}
		tables := i18nTables(ctx, t, pe)
		if want := tables["zh"]["reason."+reason]; want == "" || words != want {
			t.Errorf("error %q shown as %q, want %q", reason, words, want)
		}
	})
}

// assertNoEnglish fails on any English word the page shows in Chinese:
// every string comes from the table. What is not the page's to translate
// is allowed: the product's name, the room's and members' ids.
func assertNoEnglish(ctx context.Context, t *testing.T, p *browsertest.Page) {
	t.Helper()
	var texts []string
	if err := p.Eval(ctx, pageText, &texts); err != nil {
		t.Fatal(err)
	}
	allowed := []string{"voipd", "openid", "ID", "English", "ann", "bei", "g1", "g2"}
	word := regexp.MustCompile(`[A-Za-z]{2,}`)
	for _, s := range texts {
		for _, w := range word.FindAllString(s, -1) {
			if !slices.Contains(allowed, w) {
				t.Errorf("English %q in %q on the Chinese page", w, s)
			}
		}
	}
}
