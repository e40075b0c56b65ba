package roomd_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/browsertest"
)

// refuseMedia stands in for a visitor who refuses the microphone and
// camera: getUserMedia fails as a refusal does in every browser.
const refuseMedia = `navigator.mediaDevices.getUserMedia = () =>
	Promise.reject(new DOMException("Permission denied", "NotAllowedError"));`

// TestBrowserPermissionRefused (issue 20): a refused microphone says so
// in words, with how to allow it in the browser at hand, in the page's
// language; the advice follows the browser (by its user agent).
func TestBrowserPermissionRefused(t *testing.T) {
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range []struct{ lang, words, help string }{
		{"en", "the browser may not use the microphone or camera",
			"To allow it: click the icon at the left of the address bar, set Microphone (and Camera) to Allow, then join again."},
		{"zh", "浏览器无权使用麦克风或摄像头", "如需允许：点击地址栏左侧的图标，将麦克风（和摄像头）设为“允许”，然后重新加入。"},
	} {
		p, err := b.OpenWith(ctx, srv.URL()+"/?lang="+c.lang+"&groupId=g&openid=shy&autojoin=1", refuseMedia)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitFor(ctx, `window.voipd.state === "error"`); err != nil {
			t.Fatal(err)
		}
		var shown struct {
			Reason, Words, Help string
			HelpHidden          bool
		}
		if err := p.Eval(ctx, `({reason: window.voipd.lastError.reason,
			words: document.querySelector("#error .words").textContent,
			help: document.querySelector("#error .help").textContent,
			helpHidden: document.querySelector("#error .help").hidden})`, &shown); err != nil {
			t.Fatal(err)
		}
		if shown.Reason != "permission" || shown.Words != c.words || shown.Help != c.help || shown.HelpHidden {
			t.Errorf("%s: the page shows %+v, want reason permission, %q, and %q", c.lang, shown, c.words, c.help)
		}
	}
	// The advice by browser, and none for other errors.
	p, err := b.Open(ctx, srv.URL()+"/?groupId=g&openid=x")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	if err := p.Eval(ctx, `import("/i18n.js").then((m) => [
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
		"Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.40",
		"curl/8.0",
	].map((ua) => m.browserKind(ua)))`, &kinds); err != nil {
		t.Fatal(err)
	}
	if want := []string{"chromium", "chromium", "firefox", "safari-ios", "safari", "wechat", "other"}; !slices.Equal(kinds, want) {
		t.Errorf("browserKind: %v, want %v", kinds, want)
	}
}

// failVideo is an init script under which asking for video fails with the
// DOMException name (and message) a browser gives, while the microphone
// alone is Chromium's fake one.
func failVideo(name, message string) string {
	return fmt.Sprintf(`(() => {
	const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
	navigator.mediaDevices.getUserMedia = (c) => c && c.video
		? Promise.reject(new DOMException(%q, %q))
		: real(c);
})();`, message, name)
}

// videoless is a way to be in a video room without sending video: the
// init script that brings it about, the page's flag and notice for it, and
// the notice's words in each language.
type videoless struct {
	script, flag, notice string
	words                map[string]string
}

// joinVideoless opens a video room where a door sends video, then joins it
// in each language as v has it: the page must join with voice, say so
// with v's notice alone, receive the door's picture, and pass axe-core.
func joinVideoless(t *testing.T, group string, v videoless) {
	srv := startRoomd(t)
	b := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	door, err := b.Open(ctx, srv.URL()+"/?lang=en&roomType=video&groupId="+group+"&openid=door&autojoin=1")
	if err != nil {
		t.Fatal(err)
	}
	defer door.Close()
	for _, lang := range []string{"en", "zh"} {
		p, err := b.OpenWith(ctx, srv.URL()+"/?lang="+lang+"&roomType=video&groupId="+group+"&openid=resident-"+lang+"&autojoin=1", v.script)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.WaitFor(ctx, `window.voipd.state === "joined" && window.voipd.lastError === null &&
			window.voipd.`+v.flag+` && !document.querySelector("#`+v.notice+`").hidden &&
			[...document.querySelectorAll("#no-camera, #camera-refused")].filter((n) => !n.hidden).length === 1 &&
			(await window.voipd.stats()).inboundVideo.some((x) => x.member === "door" && x.framesDecoded > 0)`); err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		var notice string
		if err := p.Eval(ctx, `document.querySelector("#`+v.notice+`").textContent`, &notice); err != nil {
			t.Fatal(err)
		}
		if notice != v.words[lang] {
			t.Errorf("%s: the notice says %q, want %q", lang, notice, v.words[lang])
		}
		p.CheckAxe(ctx, t, lang+": joined with "+v.flag)
		p.Close()
	}
}

// TestBrowserCameraRefused (issue 20): with the camera refused and the
// microphone allowed, a video room is joined with voice; the page says the
// camera is not allowed and how to allow it in this browser, in its
// language, and the other member's video still comes. (Both refused is
// TestBrowserPermissionRefused's error.)
func TestBrowserCameraRefused(t *testing.T) {
	joinVideoless(t, "camref", videoless{script: failVideo("NotAllowedError", "Permission denied"),
		flag: "cameraRefused", notice: "camera-refused", words: map[string]string{
			"en": "The camera is not allowed: you joined with voice only, and still see the others' video. " +
				"To allow it: click the icon at the left of the address bar, set Microphone (and Camera) to Allow, then join again.",
			"zh": "摄像头未获允许：你已仅用语音加入，仍可看到其他成员的视频。 如需允许：点击地址栏左侧的图标，将麦克风（和摄像头）设为“允许”，然后重新加入。",
		}})
}

// TestBrowserNoCamera (issue 20): without a camera (asking for video fails
// as it does on a machine without one) a video room is joined with the
// microphone alone, the page says so in its language, and the other
// member's video still comes; axe-core finds nothing serious.
func TestBrowserNoCamera(t *testing.T) {
	joinVideoless(t, "nocam", videoless{script: failVideo("NotFoundError", "Requested device not found"),
		flag: "noCamera", notice: "no-camera", words: map[string]string{
			"en": "No camera found: you joined with voice only, and still see the others' video.",
			"zh": "未找到摄像头：你已仅用语音加入，仍可看到其他成员的视频。",
		}})
}
