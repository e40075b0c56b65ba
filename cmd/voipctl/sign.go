package main

import (
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/proto"
)

// signed is what voipctl sign prints: the fields joinVoIPChat needs besides
// groupId, in the seed's names.
type signed struct {
	Signature string `json:"signature"`
	NonceStr  string `json:"nonceStr"`
	TimeStamp int64  `json:"timeStamp"`
}

// runSign signs a group join with this device's identity from voipd's config.
func runSign(args []string, cfgPath string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("voipctl sign", flag.ContinueOnError)
	fs.SetOutput(stderr)
	groupID := fs.String("groupId", "", "the group `id` to sign a join for")
	if err := fs.Parse(args); err != nil {
		return exitFailure
	}
	if *groupID == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: voipctl [-config PATH] sign -groupId G")
		return exitFailure
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "voipctl:", err)
		return exitFailure
	}
	id := cfg.Identity
	if id.SessionKey == "" {
		fmt.Fprintf(stderr, "voipctl: %s: identity.sessionKey (or identity.sessionKeyFile) is not set\n", cfgPath)
		return exitFailure
	}
	s := signed{NonceStr: nonce(), TimeStamp: time.Now().Unix()}
	s.Signature = proto.Signature(id.AppID, *groupID, s.NonceStr, s.TimeStamp, id.SessionKey)
	b, err := json.Marshal(s)
	if err != nil {
		fmt.Fprintln(stderr, "voipctl:", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s\n", b)
	return exitOK
}

const alphanumerics = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// nonce returns 16 random alphanumerics, as WeChat's nonceStr examples.
// The modulo bias (256 % 62) does not matter: a nonce must only be unique.
func nonce() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	for i, r := range b {
		b[i] = alphanumerics[int(r)%len(alphanumerics)]
	}
	return string(b[:])
}
