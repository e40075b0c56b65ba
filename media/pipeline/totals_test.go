package pipeline

import (
	"context"
	"sync"
	"testing"

	"github.com/voipd/voipd/media"
	"github.com/voipd/voipd/media/settings"
)

// TestFactoryTotalsSpanCalls: a Factory's Totals (what metrics read) sum
// the figures of every call it built, one after another, and keep them
// after each ends: packets and bytes sent and received, packets lost on a
// lossy link, concealed samples.
func TestFactoryTotalsSpanCalls(t *testing.T) {
	cfg := testAudio()
	f := NewFactory(cfg, settings.Video{}, nil, nil)
	var want struct{ sent, sentBytes, got, gotBytes, lost, concealed uint64 }
	for i := range 2 {
		out := newRTPPipe(uint64(10+i), 0, 0)
		in := newRTPPipe(uint64(20+i), 0.1, 0)
		c, err := f.NewCall(media.CallParams{Capture: newToneCapture(440, true), Playback: newRecordPlayback(), Out: out})
		if err != nil {
			t.Fatal(err)
		}
		call := c.(*call)
		call.AddMember("far", in)
		far, err := NewAudioSender(newToneCapture(1000, true), in, cfg, 0, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, run := range []func(context.Context) error{call.Run, far.Run} {
			wg.Add(1)
			go func() { defer wg.Done(); run(ctx) }()
		}
		waitFor(t, "40 packets each way and a loss", func() bool {
			cs := call.Stats()
			return cs.Outbound.PacketsSent >= 40 && len(cs.Inbound) == 1 && cs.Inbound[0].PacketsReceived >= 40 && cs.Inbound[0].PacketsLost > 0
		})
		cancel()
		wg.Wait()
		// Both senders have stopped; once the member's reader has ended,
		// nothing more arrives.
		in.Close()
		out.Close()
		for _, m := range *call.rcv.members.Load() {
			<-m.done
		}
		cs := call.Stats()
		want.sent += cs.Outbound.PacketsSent
		want.sentBytes += cs.Outbound.BytesSent
		want.got += cs.Inbound[0].PacketsReceived
		want.gotBytes += cs.Inbound[0].BytesReceived
		want.lost += uint64(cs.Inbound[0].PacketsLost)
		want.concealed += cs.Inbound[0].ConcealedSamples
	}
	tot := f.Totals()
	got := []uint64{tot.Sent[media.Audio].Packets.Load(), tot.Sent[media.Audio].Bytes.Load(),
		tot.Received[media.Audio].Packets.Load(), tot.Received[media.Audio].Bytes.Load(),
		tot.Received[media.Audio].Lost.Load(), tot.ConcealedSamples.Load()}
	exp := []uint64{want.sent, want.sentBytes, want.got, want.gotBytes, want.lost, want.concealed}
	for i, name := range []string{"packets sent", "bytes sent", "packets received", "bytes received", "packets lost", "concealed samples"} {
		if got[i] != exp[i] {
			t.Errorf("totals: %s %d, the two calls' stats sum to %d", name, got[i], exp[i])
		}
	}
	if want.lost == 0 || tot.Sent[media.Video].Packets.Load() != 0 {
		t.Errorf("want losses and no video: lost %d, video sent %d", want.lost, tot.Sent[media.Video].Packets.Load())
	}
	t.Logf("two calls: %+v", want)
}
