package roomd

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/voipd/voipd/proto"
)

// rejection is a join refused with one of proto's reasons; it is what the
// member is told in its error message.
type rejection struct {
	reason, msg string
}

func (r *rejection) Error() string { return r.reason + ": " + r.msg }

func reject(reason, format string, args ...any) *rejection {
	return &rejection{reason: reason, msg: fmt.Sprintf(format, args...)}
}

// authority checks join signatures, timestamps and nonces.
type authority struct {
	apps   map[string]string // id → secret
	window time.Duration
	spent  nonceStore // nonces used (nonces.go): this process's, or Redis (gateway mode)
}

func newAuthority(apps []App, window time.Duration, spent nonceStore) *authority {
	a := &authority{apps: map[string]string{}, window: window, spent: spent}
	for _, app := range apps {
		a.apps[app.ID] = app.Secret
	}
	return a
}

// check authenticates a join (already validated by proto.Decode). The order
// matters: a nonce is remembered only once the signature is good, so forged
// joins cannot fill the nonce table.
//
// An unknown appId is reported as "signature": to the client it is the same
// situation as a wrong key (nothing it signed can be checked), and saying
// which apps exist would tell an outsider more than it needs.
func (a *authority) check(m *proto.Message, now time.Time) *rejection {
	secret, ok := a.apps[m.AppID]
	if !ok {
		return reject(proto.ReasonSignature, "unknown appId")
	}
	key := proto.SessionKey(secret, m.OpenID)
	if !proto.VerifySignature(m.Signature, m.AppID, m.GroupID, m.NonceStr, m.TimeStamp, key) {
		return reject(proto.ReasonSignature, "signature does not match")
	}
	ts := time.Unix(m.TimeStamp, 0)
	if d := now.Sub(ts); d > a.window || d < -a.window {
		return reject(proto.ReasonTimestamp, "timeStamp is %s away from the server's clock (window ±%s)",
			d.Round(time.Second), a.window)
	}
	// A nonce must be remembered as long as its timeStamp stays acceptable:
	// until ts + window, which may be later than now + window.
	fresh, err := a.spent.SpendNonce(m.AppID+"\x00"+m.NonceStr, ts.Add(a.window), now)
	if err != nil {
		// Without the store no join can be checked for replay: refused,
		// and said so (the operator sees the cause in the log).
		return reject(proto.ReasonInternal, "the server cannot check the nonce now: %v", err)
	}
	if !fresh {
		return reject(proto.ReasonReplay, "nonceStr was used before")
	}
	return nil
}

// checkResume authenticates a resume join: its ticket, signed with the
// app's secret, for this app, room and member, and not expired. A refused
// ticket is reason "resume" (the client gives up coming back).
func (a *authority) checkResume(m *proto.Message, now time.Time) (proto.Resume, *rejection) {
	secret, ok := a.apps[m.AppID]
	if !ok {
		return proto.Resume{}, reject(proto.ReasonSignature, "unknown appId")
	}
	r, err := proto.VerifyResume(m.Resume, secret, now)
	if err != nil {
		return proto.Resume{}, reject(proto.ReasonResume, "%v", err)
	}
	if r.AppID != m.AppID || r.Kind != m.Kind || r.Room != m.GroupID || r.Member != m.OpenID {
		return proto.Resume{}, reject(proto.ReasonResume, "the resume ticket is another member's or another room's")
	}
	return r, nil
}

// Signed is a signed join as the browser client's /dev/sign returns it.
type Signed struct {
	AppID     string `json:"appId"`
	OpenID    string `json:"openid"`
	GroupID   string `json:"groupId"`
	NonceStr  string `json:"nonceStr"`
	TimeStamp int64  `json:"timeStamp"`
	Signature string `json:"signature"`
}

// Sign mints what an operator's backend would hand a member: a signature for
// joining groupID as openid, with a fresh nonce and the given time.
func Sign(app App, openid, groupID string, now time.Time) Signed {
	nonce := NonceStr()
	ts := now.Unix()
	return Signed{
		AppID:     app.ID,
		OpenID:    openid,
		GroupID:   groupID,
		NonceStr:  nonce,
		TimeStamp: ts,
		Signature: proto.Signature(app.ID, groupID, nonce, ts, proto.SessionKey(app.Secret, openid)),
	}
}

// NonceStr returns 16 random alphanumeric characters, like WeChat's.
func NonceStr() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}
