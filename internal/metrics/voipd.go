package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/voipd/voipd/daemon"
	"github.com/voipd/voipd/media"
)

// Voipd is voipd's own collector: its media totals over every call, its
// joins, reconnects, device errors and control clients, and the room it
// is in now.
type Voipd struct {
	totals   *media.Totals
	counters func() daemon.Counters
}

// NewVoipd returns the collector of a daemon whose pipelines count into
// totals (pipeline.Factory.Totals) and whose counters reads counters
// (daemon.Daemon.Counters).
func NewVoipd(totals *media.Totals, counters func() daemon.Counters) *Voipd {
	return &Voipd{totals: totals, counters: counters}
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	vPacketsSent     = desc("voipd_packets_sent_total", "RTP packets sent, by media kind.", "kind")
	vBytesSent       = desc("voipd_bytes_sent_total", "RTP payload bytes sent, by media kind.", "kind")
	vPacketsReceived = desc("voipd_packets_received_total", "RTP packets received from members, by media kind.", "kind")
	vBytesReceived   = desc("voipd_bytes_received_total", "RTP payload bytes received from members, by media kind.", "kind")
	vPacketsLost     = desc("voipd_packets_lost_total", "Packets of members' streams that never arrived (RFC 3550 expected minus received), by media kind.", "kind")
	vConcealed       = desc("voipd_concealed_samples_total", "Audio samples made up by packet loss concealment (webrtc-stats concealedSamples).")
	vFramesDropped   = desc("voipd_frames_dropped_total", "Video frames dropped: sent, by the camera or encoder; received, given up or undecodable.", "direction")
	vJoins           = desc("voipd_joins_total", "Join requests answered, by method and code (0: joined).", "method", "code")
	vReconnects      = desc("voipd_reconnects_total", "Times a room connection was lost and voipd set out to get back in.")
	vDeviceErrors    = desc("voipd_device_errors_total", "Devices lost during a call (code 4), by device.", "device")
	vControlClients  = desc("voipd_control_clients", "Clients connected to the control socket.")
	vInRoom          = desc("voipd_in_room", "1 while voipd is in a room (joined), else 0.")
	vMembers         = desc("voipd_room_members", "Members of the room voipd is in, itself included; 0 outside a room.")
	vRTT             = desc("voipd_round_trip_time_seconds", "The media connection's round-trip time; 0 outside a room or before it is measured.")
	vJitter          = desc("voipd_jitter_seconds", "The worst received audio stream's interarrival jitter (RFC 3550); 0 outside a room.")
)

// Describe implements prometheus.Collector.
func (v *Voipd) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{vPacketsSent, vBytesSent, vPacketsReceived, vBytesReceived, vPacketsLost,
		vConcealed, vFramesDropped, vJoins, vReconnects, vDeviceErrors, vControlClients, vInRoom, vMembers, vRTT, vJitter} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (v *Voipd) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, n uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(n), labels...)
	}
	gauge := func(d *prometheus.Desc, x float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, x, labels...)
	}
	t := v.totals
	for _, k := range media.Kinds {
		kind := k.String()
		counter(vPacketsSent, t.Sent[k].Packets.Load(), kind)
		counter(vBytesSent, t.Sent[k].Bytes.Load(), kind)
		counter(vPacketsReceived, t.Received[k].Packets.Load(), kind)
		counter(vBytesReceived, t.Received[k].Bytes.Load(), kind)
		counter(vPacketsLost, t.Received[k].Lost.Load(), kind)
	}
	counter(vConcealed, t.ConcealedSamples.Load())
	counter(vFramesDropped, t.Sent[media.Video].FramesDropped.Load(), "sent")
	counter(vFramesDropped, t.Received[media.Video].FramesDropped.Load(), "received")

	c := v.counters()
	for _, j := range c.Joins {
		counter(vJoins, j.N, j.Method, strconv.Itoa(j.Code))
	}
	counter(vReconnects, c.Reconnects)
	for _, dev := range []string{"audio", "camera"} {
		counter(vDeviceErrors, c.DeviceErrors[dev], dev)
	}
	gauge(vControlClients, float64(c.ControlClients))
	in := 0.0
	if c.InRoom {
		in = 1
	}
	gauge(vInRoom, in)
	gauge(vMembers, float64(c.Members))
	gauge(vRTT, c.RTTSeconds)
	gauge(vJitter, c.JitterSeconds)
}
