package main

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/voipd/voipd/roomd/token"
)

// defaultTokenTTL is a token's life when -ttl is not given: a day, long
// enough to try a room out, short enough not to leave keys lying around.
const defaultTokenTTL = 24 * time.Hour

// mintToken is `roomd token -roomId R -userId U [-ttl D] [-subscribe-only]`:
// it prints one RTC token (Volcengine's AccessToken format) for the first
// app, what an operator's backend would hand a device for joinRtcRoom. The
// token is the only thing printed, so that a script can take it whole.
func mintToken(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	f := newFlags("roomd token", stderr)
	roomID := f.fs.String("roomId", "", `the room (required); "*" for any room`)
	userID := f.fs.String("userId", "", "the member's userId (required)")
	ttl := f.fs.Duration("ttl", defaultTokenTTL, "how long the token and its privileges last; 0: never expire")
	subOnly := f.fs.Bool("subscribe-only", false, "grant SubscribeStream only: the member joins without publishing")
	if err := f.fs.Parse(args); err != nil {
		return usageCode(err)
	}
	switch {
	case *roomID == "":
		fmt.Fprintln(stderr, "roomd token: -roomId is required")
		return 2
	case *userID == "":
		fmt.Fprintln(stderr, "roomd token: -userId is required")
		return 2
	case *ttl < 0:
		fmt.Fprintf(stderr, "roomd token: -ttl %v is negative\n", *ttl)
		return 2
	case f.fs.NArg() > 0:
		fmt.Fprintf(stderr, "roomd token: unexpected argument %q\n", f.fs.Arg(0))
		return 2
	}
	cfg, err := f.load(getenv, io.Discard)
	if err != nil {
		fmt.Fprintf(stderr, "roomd token: %v\n", err)
		return 1
	}
	app := cfg.Apps[0]
	if len(app.ID) != token.AppIDLen {
		fmt.Fprintf(stderr, "roomd token: app id %q has %d characters: RTC tokens need an app with a %d-character id (Volcengine's AppID)\n",
			app.ID, len(app.ID), token.AppIDLen)
		return 1
	}
	s, err := newToken(app.ID, app.Secret, *roomID, *userID, *ttl, !*subOnly, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "roomd token: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, s)
	return 0
}

// newToken mints a token valid for ttl from now (0: forever), with
// SubscribeStream and, when publish, PublishStream, each lasting as long as
// the token, as Volcengine's sample generators do.
func newToken(appID, appKey, roomID, userID string, ttl time.Duration, publish bool, now time.Time) (string, error) {
	t := token.New(appID, roomID, userID, now)
	var nonce [4]byte
	rand.Read(nonce[:]) // crypto/rand.Read never fails (Go 1.24+)
	t.Nonce = binary.LittleEndian.Uint32(nonce[:])
	if ttl > 0 {
		t.ExpireAt = uint32(now.Add(ttl).Unix())
	}
	if publish {
		t.AddPrivilege(token.PublishStream, t.ExpireAt)
	}
	t.AddPrivilege(token.SubscribeStream, t.ExpireAt)
	return t.Serialize(appKey)
}
