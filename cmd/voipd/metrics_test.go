package main

import (
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/hw"
	"github.com/voipd/voipd/internal/metrics"
	"github.com/voipd/voipd/roomd"
)

// TestMetricsAcrossCalls (issue 17): voipd with metrics.listen serves
// Prometheus' text format on loopback; a voice call shows in its series
// (packets both ways, joins counted by method and code, a refused one
// too, in a room of two, the control client), and the counters keep what a call counted
// after it ends and go on growing in the next one. roomd's figures count
// the same call: joins by result, members, forwarded packets.
func TestMetricsAcrossCalls(t *testing.T) {
	srv, secret := testRoomd(t, nil)
	url := wsURL(srv.URL())
	a := startNode(t, "door-a", url, secret, 440, func(c *config.Config) { c.Metrics.Listen = "127.0.0.1:0" })
	b := startNode(t, "door-b", url, secret, 1000, nil)
	if a.in.metricsURL == "" {
		t.Fatal("metrics.listen set, but no metrics URL")
	}
	scrape := func() metrics.Families {
		t.Helper()
		f, err := metrics.Scrape(a.in.metricsURL)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	val := func(f metrics.Families, name string, labels ...string) float64 {
		t.Helper()
		v, ok := f.Value(name, labels...)
		if !ok {
			t.Fatalf("no series %s%v in the scrape", name, labels)
		}
		return v
	}

	f := scrape()
	if val(f, "voipd_in_room") != 0 || val(f, "voipd_packets_sent_total", "kind", "audio") != 0 || val(f, "process_resident_memory_bytes") <= 0 {
		t.Errorf("idle: in_room %v, audio sent %v, RSS %v", val(f, "voipd_in_room"), val(f, "voipd_packets_sent_total", "kind", "audio"), val(f, "process_resident_memory_bytes"))
	}

	// A join refused for a busy microphone is counted under its code.
	a.audio.setBusy(&hw.DeviceError{Op: "open capture", Device: "default", Kind: hw.ErrBusy})
	a.ctl.mustFail("joinVoIPChat", a.joinParams("metrics"), -2, "busy")
	a.audio.setBusy(nil)
	if n := val(scrape(), "voipd_joins_total", "method", "joinVoIPChat", "code", "-2"); n != 1 {
		t.Errorf("voipd_joins_total{method=joinVoIPChat,code=-2} = %v after one busy refusal", n)
	}

	var sent, got float64
	for call := 1; call <= 2; call++ {
		joinBoth(t, a, b, "metrics")
		eventually(t, 15*time.Second, "a's call in its metrics", func() bool {
			f := scrape()
			return val(f, "voipd_in_room") == 1 && val(f, "voipd_room_members") == 2 &&
				val(f, "voipd_packets_sent_total", "kind", "audio") > sent+50 &&
				val(f, "voipd_packets_received_total", "kind", "audio") > got+50 &&
				val(f, "voipd_bytes_received_total", "kind", "audio") > 0
		})
		f := scrape()
		if n := val(f, "voipd_joins_total", "method", "joinVoIPChat", "code", "0"); n != float64(call) {
			t.Errorf("call %d: voipd_joins_total{method=joinVoIPChat,code=0} = %v", call, n)
		}
		if n := val(f, "voipd_control_clients"); n < 1 {
			t.Errorf("call %d: %v control clients, the test's is connected", call, n)
		}
		a.ctl.mustOK("exitVoIPChat", nil)
		b.ctl.mustOK("exitVoIPChat", nil)
		eventually(t, 10*time.Second, "a out of the room", func() bool { return val(scrape(), "voipd_in_room") == 0 })
		f = scrape()
		s, g := val(f, "voipd_packets_sent_total", "kind", "audio"), val(f, "voipd_packets_received_total", "kind", "audio")
		if s < sent || g < got {
			t.Errorf("after call %d the counters fell: sent %v → %v, received %v → %v", call, sent, s, got, g)
		}
		sent, got = s, g
		t.Logf("after call %d: audio packets sent %v, received %v", call, sent, got)
	}

	m := srv.Metrics()
	if m.Joins[roomd.JoinResult{Kind: "voip", Result: "ok"}] != 4 || m.ForwardedPackets[0] == 0 || m.ForwardedBytes[0] == 0 {
		t.Errorf("roomd's metrics after two calls of two: %+v", m)
	}
	eventually(t, 10*time.Second, "roomd's room empty", func() bool { m := srv.Metrics(); return m.Rooms == 0 && m.Members == 0 })
}
