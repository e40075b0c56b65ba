package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/voipd/voipd/daemon"
	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/roomd"
)

// TestVoipdSeries: the collector reports the totals and counters it is
// given under the documented names and labels, and promlint (Prometheus'
// own conventions: _total counters, base units, help) finds nothing.
func TestVoipdSeries(t *testing.T) {
	var tot media.Totals
	tot.Sent[media.Audio].Packets.Store(500)
	tot.Sent[media.Audio].Bytes.Store(40000)
	tot.Sent[media.Video].Packets.Store(900)
	tot.Sent[media.Video].FramesDropped.Store(3)
	tot.Received[media.Audio].Packets.Store(480)
	tot.Received[media.Audio].Lost.Store(20)
	tot.Received[media.Video].FramesDropped.Store(2)
	tot.ConcealedSamples.Store(960)
	c := NewVoipd(&tot, func() daemon.Counters {
		return daemon.Counters{
			Joins:          []daemon.JoinCount{{JoinKey: daemon.JoinKey{Method: "joinVoIPChat", Code: 0}, N: 4}, {JoinKey: daemon.JoinKey{Method: "joinVoIPChat", Code: -2}, N: 1}},
			Reconnects:     2,
			DeviceErrors:   map[string]uint64{"audio": 1},
			ControlClients: 3, InRoom: true, Members: 2, RTTSeconds: 0.012, JitterSeconds: 0.004,
		}
	})
	want := `
# HELP voipd_packets_sent_total RTP packets sent, by media kind.
# TYPE voipd_packets_sent_total counter
voipd_packets_sent_total{kind="audio"} 500
voipd_packets_sent_total{kind="video"} 900
# HELP voipd_packets_lost_total Packets of members' streams that never arrived (RFC 3550 expected minus received), by media kind.
# TYPE voipd_packets_lost_total counter
voipd_packets_lost_total{kind="audio"} 20
voipd_packets_lost_total{kind="video"} 0
# HELP voipd_frames_dropped_total Video frames dropped: sent, by the camera or encoder; received, given up or undecodable.
# TYPE voipd_frames_dropped_total counter
voipd_frames_dropped_total{direction="received"} 2
voipd_frames_dropped_total{direction="sent"} 3
# HELP voipd_joins_total Join requests answered, by method and code (0: joined).
# TYPE voipd_joins_total counter
voipd_joins_total{code="-2",method="joinVoIPChat"} 1
voipd_joins_total{code="0",method="joinVoIPChat"} 4
# HELP voipd_device_errors_total Devices lost during a call (code 4), by device.
# TYPE voipd_device_errors_total counter
voipd_device_errors_total{device="audio"} 1
voipd_device_errors_total{device="camera"} 0
# HELP voipd_round_trip_time_seconds The media connection's round-trip time; 0 outside a room or before it is measured.
# TYPE voipd_round_trip_time_seconds gauge
voipd_round_trip_time_seconds 0.012
# HELP voipd_in_room 1 while voipd is in a room (joined), else 0.
# TYPE voipd_in_room gauge
voipd_in_room 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "voipd_packets_sent_total", "voipd_packets_lost_total",
		"voipd_frames_dropped_total", "voipd_joins_total", "voipd_device_errors_total", "voipd_round_trip_time_seconds", "voipd_in_room"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c); n != 23 {
		t.Errorf("%d series, want 23 (5 by kind ×2, concealed, 2 dropped, 2 joins, reconnects, 2 devices, 5 gauges)", n)
	}
	lint(t, c)
}

// TestRoomdSeries: roomd's collector, the same way; no label names a
// member, room or address.
func TestRoomdSeries(t *testing.T) {
	c := NewRoomd(func() roomd.Metrics {
		return roomd.Metrics{Rooms: 2, Members: 5,
			Joins:            map[roomd.JoinResult]uint64{{Kind: "voip", Result: "ok"}: 5, {Kind: "rtc", Result: "token_expired"}: 1},
			Refusals:         map[string]uint64{"signature": 7},
			ForwardedPackets: [2]uint64{1000, 3000}, ForwardedBytes: [2]uint64{90000, 3000000}}
	})
	want := `
# HELP roomd_members Members in rooms now.
# TYPE roomd_members gauge
roomd_members 5
# HELP roomd_joins_total Joins by room kind (voip, 1v1, rtc) and result: ok, or the reason refused.
# TYPE roomd_joins_total counter
roomd_joins_total{kind="rtc",result="token_expired"} 1
roomd_joins_total{kind="voip",result="ok"} 5
# HELP roomd_refusals_total Connections and joins refused before a room, by reason: signature, timestamp, replay, token_invalid, token_expired, resume, a per-address limit...
# TYPE roomd_refusals_total counter
roomd_refusals_total{reason="signature"} 7
# HELP roomd_forwarded_packets_total RTP packets members uploaded that roomd forwarded, by media kind.
# TYPE roomd_forwarded_packets_total counter
roomd_forwarded_packets_total{kind="audio"} 1000
roomd_forwarded_packets_total{kind="video"} 3000
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "roomd_members", "roomd_joins_total", "roomd_refusals_total", "roomd_forwarded_packets_total"); err != nil {
		t.Error(err)
	}
	lint(t, c)
}

func lint(t *testing.T, c interface {
	Describe(chan<- *prometheus.Desc)
	Collect(chan<- prometheus.Metric)
}) {
	t.Helper()
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestServeLoopbackOnly: Serve refuses an address that is not loopback,
// naming the rule, and serves the registry's text format, with the
// process and Go collectors, on one that is.
func TestServeLoopbackOnly(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, addr := range []string{"0.0.0.0:9464", ":9464", "192.0.2.1:9464", "example.com:9464", "127.0.0.1"} {
		if _, err := Serve(t.Context(), addr, NewRegistry(), log); err == nil || !strings.Contains(err.Error(), "metrics address") {
			t.Errorf("Serve(%q) = %v, want a refusal naming the metrics address", addr, err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	url, err := Serve(ctx, "127.0.0.1:0", NewRegistry(NewRoomd(func() roomd.Metrics { return roomd.Metrics{Rooms: 1} })), log)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{"roomd_rooms 1", "process_resident_memory_bytes", "go_goroutines"} {
		if !strings.Contains(string(body), s) {
			t.Errorf("scrape of %s lacks %q", url, s)
		}
	}
}
