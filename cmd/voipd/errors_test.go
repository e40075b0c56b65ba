package main

import (
	"net"
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/proto"
	"github.com/voipd/voipd/roomd"
)

// Every error code of joinVoIPChat from a real situation, over the socket.
func TestJoinErrorCodes(t *testing.T) {
	srv, secret := testRoomd(t, func(c *roomd.Config) { c.MaxMembers = 2 })
	url := wsURL(srv.URL())
	a := startNode(t, "err-a", url, secret, 440, nil)

	t.Run("bad signature", func(t *testing.T) {
		p := a.joinParams("g1")
		// Its first hex digit changed, always: writing "00" over the first
		// two left a signature that began so as it was (1 run in 256; a
		// clean-clone run hit it).
		sig := []byte(p["signature"].(string))
		if sig[0] == '0' {
			sig[0] = '1'
		} else {
			sig[0] = '0'
		}
		p["signature"] = string(sig)
		a.ctl.mustFail("joinVoIPChat", p, -1000, "signature")
	})
	t.Run("timeStamp outside the window", func(t *testing.T) {
		p := a.joinParams("g1")
		ts := time.Now().Add(-time.Hour).Unix()
		p["timeStamp"] = ts
		p["signature"] = signFor(a, "g1", p["nonceStr"].(string), ts)
		a.ctl.mustFail("joinVoIPChat", p, -1000, "timestamp")
	})
	t.Run("-1 already in a room, then replayed nonce", func(t *testing.T) {
		p := a.joinParams("g1")
		a.ctl.mustOK("joinVoIPChat", p)
		a.ctl.mustFail("joinVoIPChat", a.joinParams("g2"), -1, "busy")
		a.ctl.mustOK("exitVoIPChat", nil)
		a.ctl.mustFail("joinVoIPChat", p, -1000, "replay")
	})
	t.Run("room full", func(t *testing.T) {
		b := startNode(t, "err-b", url, secret, 660, nil)
		c := startNode(t, "err-c", url, secret, 880, nil)
		a.ctl.mustOK("joinVoIPChat", a.joinParams("full"))
		b.ctl.mustOK("joinVoIPChat", b.joinParams("full"))
		c.ctl.mustFail("joinVoIPChat", c.joinParams("full"), -1000, "room_full")
		if st := c.ctl.mustOK("status", nil); st["state"] != "idle" {
			t.Fatalf("after a failed join: state %v", st["state"])
		}
		a.ctl.mustOK("exitVoIPChat", nil)
	})
	t.Run("not in room", func(t *testing.T) {
		a.ctl.mustFail("exitVoIPChat", nil, -1000, "not_in_room")
		a.ctl.mustFail("updateVoIPChatMuteConfig", map[string]any{"muteConfig": map[string]any{"muteMicrophone": true}}, -1000, "not_in_room")
	})
	t.Run("-2 capture busy", func(t *testing.T) {
		a.audio.setBusy(&hw.DeviceError{Op: "open capture", Device: "default", Kind: hw.ErrBusy})
		a.ctl.mustFail("joinVoIPChat", a.joinParams("g3"), -2, "busy")
		a.audio.setBusy(nil)
		a.ctl.mustOK("joinVoIPChat", a.joinParams("g3"))
		a.ctl.mustOK("exitVoIPChat", nil)
	})
	t.Run("JSON-RPC errors keep the connection", func(t *testing.T) {
		a.ctl.raw(`{"jsonrpc":"2.0","id":900,"method":`)
		a.ctl.mustFail("noSuchMethod", nil, -32601, "")
		a.ctl.mustFail("joinVoIPChat", map[string]any{"signature": "x", "nonceStr": "n", "timeStamp": 1}, -32602, "params")
		ans := a.ctl.call("joinVoIPChat", map[string]any{"groupId": "g", "signature": "x", "nonceStr": "n", "timeStamp": "soon"})
		checkFail(t, "joinVoIPChat", ans, -32602, "params")
		if ans.Error.Data["field"] != "timeStamp" {
			t.Fatalf("bad timeStamp: data %v does not name the field", ans.Error.Data)
		}
		a.ctl.mustOK("status", nil)
	})
}

func signFor(n *node, g, nonce string, ts int64) string {
	return proto.Signature(testApp, g, nonce, ts, proto.SessionKey(n.secret, n.openid))
}

// Scope refused: a client whose uid is not granted scope.record.
func TestJoinScopeRefused(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	n := startNode(t, "scoped", wsURL(srv.URL()), secret, 440, func(c *config.Config) {
		c.Scopes.Record = []string{"uid:4000000000"}
	})
	n.ctl.mustFail("joinVoIPChat", n.joinParams("g"), -1000, "scope")
}

// A room server that cannot be reached, and one that never answers.
func TestJoinUnreachableAndTimeout(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	n := startNode(t, "lonely", "ws://"+deadAddr+"/ws", "s", 440, nil)
	n.ctl.mustFail("joinVoIPChat", n.joinParams("g"), -1000, "unreachable")

	silent := silentServer(t)
	m := startNode(t, "patient", "ws://"+silent+"/ws", "s", 440, func(c *config.Config) {
		c.Room.JoinTimeout = config.Duration(time.Second)
	})
	t0 := time.Now()
	m.ctl.mustFail("joinVoIPChat", m.joinParams("g"), -1000, "timeout")
	t.Logf("timeout answered after %v (joinTimeout 1s)", time.Since(t0))
	if st := m.ctl.mustOK("status", nil); st["state"] != "idle" {
		t.Fatalf("after timeout: state %v", st["state"])
	}
}

// exitVoIPChat while a join is under way: the join answers -3, the exit ok.
func TestExitWhileJoining(t *testing.T) {
	silent := silentServer(t)
	n := startNode(t, "quitter", "ws://"+silent+"/ws", "s", 440, nil)
	join := n.ctl.send("joinVoIPChat", n.joinParams("g"))
	eventually(t, 5*time.Second, "state joining", func() bool {
		return n.ctl.mustOK("status", nil)["state"] == "joining"
	})
	n.ctl.mustOK("exitVoIPChat", nil)
	checkFail(t, "joinVoIPChat", n.ctl.await(join, 5*time.Second), -3, "interrupted")
	if st := n.ctl.mustOK("status", nil); st["state"] != "idle" {
		t.Fatalf("after -3: state %v", st["state"])
	}
}

// silentServer accepts TCP connections and never says a word.
func silentServer(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
