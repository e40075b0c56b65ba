// netquality.js: whether the network carries the room's media well, from
// the browser's own WebRTC statistics (RoomClient.stats()): the share of
// the packets sent to this page that were lost, the share of its own that
// the far side reports lost (remote-inbound-rtp), and the round trip of
// the connection's selected candidate pair.
//
// The figures are judged over the last few seconds, with a gap between the
// bars that make it poor and the ones that make it good again, so that a
// single burst does not make the page flicker.

import { t } from './i18n.js';

const WINDOW = 10;       // samples judged together (the callers sample every 300–500 ms)
const MIN_PACKETS = 40;  // fewer expected in the window (a silent member with DTX): keep the verdict
const POOR_LOSS = 0.05;  // 5 % lost makes it poor...
const GOOD_LOSS = 0.02;  // ...and under 2 % good again
const POOR_RTT = 0.4;    // seconds
const GOOD_RTT = 0.25;

// NetWatch follows one room's statistics. quality is "unknown" until a
// window has enough packets, then "good" or "poor"; loss (inbound share
// lost), sendLoss and rtt (seconds) are the last window's figures.
export class NetWatch {
  constructor() {
    this.reset();
  }

  reset() {
    this.samples = [];
    this.quality = 'unknown';
    this.loss = 0;
    this.sendLoss = 0;
    this.rtt = 0;
  }

  // update takes one stats() result and says whether quality changed.
  update(s) {
    let received = 0;
    let lost = 0;
    for (const x of [...s.inboundAudio, ...s.inboundVideo]) {
      received += x.packetsReceived;
      lost += Math.max(0, x.packetsLost);
    }
    const net = s.network || { rtt: 0, sendLoss: 0 };
    this.samples.push({ received, lost, rtt: net.rtt, sendLoss: net.sendLoss });
    if (this.samples.length > WINDOW) this.samples.shift();
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dr = last.received - first.received;
    const dl = last.lost - first.lost;
    // A member who left or came takes its counters with it: a window whose
    // counters went back starts again.
    if (dr < 0 || dl < 0) {
      this.samples = [last];
      return false;
    }
    this.rtt = last.rtt;
    this.sendLoss = Math.max(...this.samples.map((x) => x.sendLoss));
    const enough = dr + dl >= MIN_PACKETS;
    if (enough) this.loss = dl / (dr + dl);
    const was = this.quality;
    if ((enough && this.loss >= POOR_LOSS) || this.sendLoss >= POOR_LOSS || this.rtt >= POOR_RTT) {
      this.quality = 'poor';
    } else if (enough && this.loss < GOOD_LOSS && this.sendLoss < GOOD_LOSS && this.rtt < GOOD_RTT) {
      this.quality = 'good';
    }
    return this.quality !== was;
  }

  // summary is the figures for the page's hook.
  summary() {
    return { quality: this.quality, loss: this.loss, sendLoss: this.sendLoss, rtt: this.rtt };
  }
}

// showQuality shows el (a badge) when the network is poor, with the
// figures in its title.
export function showQuality(el, n) {
  el.hidden = n.quality !== 'poor';
  el.textContent = t('network.poor');
  el.title = t('network.detail', { loss: Math.round(Math.max(n.loss, n.sendLoss) * 100), rtt: Math.round(n.rtt * 1000) });
}
