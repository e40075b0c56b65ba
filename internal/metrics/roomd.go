package metrics

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voipd/voipd/roomd"
)

// Roomd is roomd's collector: its rooms and members now, joins by kind and
// result, refusals by reason, and the packets it forwarded. No series has
// a member, room or address label.
type Roomd struct{ read func() roomd.Metrics }

// NewRoomd returns the collector of a roomd whose figures read reads
// (roomd.Server.Metrics).
func NewRoomd(read func() roomd.Metrics) *Roomd { return &Roomd{read: read} }

var (
	rRooms       = desc("roomd_rooms", "Rooms with members now (group, call and token rooms).")
	rMembers     = desc("roomd_members", "Members in rooms now.")
	rJoins       = desc("roomd_joins_total", "Joins by room kind (voip, 1v1, rtc) and result: ok, or the reason refused.", "kind", "result")
	rRefusals    = desc("roomd_refusals_total", "Connections and joins refused before a room, by reason: signature, timestamp, replay, token_invalid, token_expired, resume, a per-address limit...", "reason")
	rFwdPackets  = desc("roomd_forwarded_packets_total", "RTP packets members uploaded that roomd forwarded, by media kind.", "kind")
	rFwdBytes    = desc("roomd_forwarded_bytes_total", "Bytes of the RTP packets roomd forwarded (as uploaded), by media kind.", "kind")
	roomdMetrics = []*prometheus.Desc{rRooms, rMembers, rJoins, rRefusals, rFwdPackets, rFwdBytes}
)

// Describe implements prometheus.Collector.
func (r *Roomd) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range roomdMetrics {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (r *Roomd) Collect(ch chan<- prometheus.Metric) {
	m := r.read()
	ch <- prometheus.MustNewConstMetric(rRooms, prometheus.GaugeValue, float64(m.Rooms))
	ch <- prometheus.MustNewConstMetric(rMembers, prometheus.GaugeValue, float64(m.Members))
	joins := make([]roomd.JoinResult, 0, len(m.Joins))
	for k := range m.Joins {
		joins = append(joins, k)
	}
	sort.Slice(joins, func(i, j int) bool {
		return joins[i].Kind+"\x00"+joins[i].Result < joins[j].Kind+"\x00"+joins[j].Result
	})
	for _, k := range joins {
		ch <- prometheus.MustNewConstMetric(rJoins, prometheus.CounterValue, float64(m.Joins[k]), k.Kind, k.Result)
	}
	for reason, n := range m.Refusals {
		ch <- prometheus.MustNewConstMetric(rRefusals, prometheus.CounterValue, float64(n), reason)
	}
	for i, kind := range []string{"audio", "video"} {
		ch <- prometheus.MustNewConstMetric(rFwdPackets, prometheus.CounterValue, float64(m.ForwardedPackets[i]), kind)
		ch <- prometheus.MustNewConstMetric(rFwdBytes, prometheus.CounterValue, float64(m.ForwardedBytes[i]), kind)
	}
}
