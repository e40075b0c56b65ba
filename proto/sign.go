package proto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
)

// Signature computes a group-room join signature exactly as WeChat does:
// the four strings appId, groupId, nonceStr and timeStamp sorted, joined with
// nothing between them, HMAC-SHA256 keyed with the session key string as it
// is (not base64-decoded), in lowercase hex.
func Signature(appID, groupID, nonceStr string, timeStamp int64, sessionKey string) string {
	parts := []string{appID, groupID, nonceStr, strconv.FormatInt(timeStamp, 10)}
	sort.Strings(parts)
	mac := hmac.New(sha256.New, []byte(sessionKey))
	mac.Write([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports whether sig is the signature of the other fields,
// comparing in constant time.
func VerifySignature(sig, appID, groupID, nonceStr string, timeStamp int64, sessionKey string) bool {
	want := Signature(appID, groupID, nonceStr, timeStamp, sessionKey)
	return hmac.Equal([]byte(want), []byte(strings.ToLower(sig)))
}

// SessionKey derives a member's session key from the app secret, so an
// operator's backend can issue keys without roomd storing one per device:
// base64(HMAC-SHA256(key = appSecret, msg = openid) truncated to 16 bytes),
// 24 characters like WeChat's.
func SessionKey(appSecret, openid string) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write([]byte(openid))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil)[:16])
}
