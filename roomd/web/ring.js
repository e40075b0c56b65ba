// ring.js: the tones of a ringing call, made with Web Audio (no file to
// fetch, nothing to decode). An incoming call rings in bursts, two short
// tones and a pause, as a phone does; an outgoing call plays the ring-back
// the caller hears while the other side rings (450 Hz, 1 s on, 4 s off: the
// Chinese and much of the world's). A phone that can also vibrates with an
// incoming ring.
//
// Browsers keep sound off until the visitor has touched the page: a call
// that rings before then is shown (and vibrates) without the tone, and the
// tone starts at the first touch or key while it still rings.
//
// window.voipd gains (for tests and a vendor's page around this one):
//   ringing      null | "incoming" | "outgoing"
//   ringLevel()  the tone's RMS level now (0..1) as played: 0 between bursts,
//                and while the browser holds sound back

const PATTERNS = {
  // [frequencies Hz, on/off seconds ..., period s]
  incoming: { freqs: [400, 450], steps: [[0, 0.4], [0.6, 1.0]], period: 3.0, vibrate: [400, 200, 400] },
  outgoing: { freqs: [450], steps: [[0, 1.0]], period: 5.0 },
};
const LEVEL = 0.18; // the tone's peak: well under full scale, heard over a room

let ctx = null;
let current = null; // {kind, stop}

function context() {
  if (!ctx) {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    ctx = new AC();
  }
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  return ctx;
}

// ring starts kind's tone ("incoming" or "outgoing"), ending any other.
export function ring(kind) {
  if (current && current.kind === kind) return;
  stopRing();
  const p = PATTERNS[kind];
  const ac = context();
  const hook = window.voipd;
  hook.ringing = kind;
  if (!ac) {
    current = { kind, stop() {} };
    return;
  }
  const gain = ac.createGain();
  gain.gain.value = 0;
  const analyser = ac.createAnalyser();
  analyser.fftSize = 512;
  gain.connect(analyser).connect(ac.destination);
  const oscs = p.freqs.map((f) => {
    const o = ac.createOscillator();
    o.frequency.value = f;
    o.connect(gain);
    o.start();
    return o;
  });
  const peak = LEVEL / p.freqs.length;
  // Each period is scheduled on the audio clock just before it begins.
  let next = ac.currentTime + 0.05;
  const schedule = () => {
    while (next < ac.currentTime + p.period) {
      for (const [on, off] of p.steps) {
        gain.gain.setTargetAtTime(peak, next + on, 0.01);
        gain.gain.setTargetAtTime(0, next + off, 0.01);
      }
      next += p.period;
    }
    if (p.vibrate && navigator.vibrate) navigator.vibrate(p.vibrate);
  };
  schedule();
  const timer = setInterval(schedule, (p.period * 1000) / 2);
  const buf = new Float32Array(analyser.fftSize);
  hook.ringLevel = () => {
    analyser.getFloatTimeDomainData(buf);
    let e = 0;
    for (const v of buf) e += v * v;
    return Math.sqrt(e / buf.length);
  };
  current = {
    kind,
    stop() {
      clearInterval(timer);
      for (const o of oscs) { o.stop(); o.disconnect(); }
      gain.disconnect();
      analyser.disconnect();
      if (p.vibrate && navigator.vibrate) navigator.vibrate(0);
    },
  };
}

// stopRing silences whatever rings.
export function stopRing() {
  if (current) current.stop();
  current = null;
  window.voipd.ringing = null;
  window.voipd.ringLevel = () => 0;
}

// The first touch or key lets sound out: a ring already going becomes audible.
for (const ev of ['pointerdown', 'keydown']) {
  window.addEventListener(ev, () => { if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {}); }, { capture: true });
}
