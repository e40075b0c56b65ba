// voip-room.js: the <voip-room> custom element of voipd's local display,
// after WeChat's voip-room component (seed 004). It plays one picture the
// daemon offers on loopback — a member's video, or the device's own camera
// — through the daemon's WHEP-style endpoint (daemon/display), muted: the
// daemon plays the room's audio itself.
//
// Attributes (the seed's names and defaults):
//   openid           the member shown (mode video: required; mode camera: only a label)
//   mode             "camera" (this device's own camera) | "video" (a member); default camera
//   device-position  "front" | "back", mode camera only; default front (shown mirrored, as a selfie)
//   object-fit       "fill" | "contain" | "cover"; default fill
// Our addition:
//   server           the display's base URL; default the origin this script was
//                    loaded from (the page's own origin when the display serves the page)
//
// The source asked for is "self" (camera, front), "self:back" (camera, back)
// or the openid (video). Changing any of these attributes reconnects.
//
// Events:
//   error  (the seed's binderror) detail {errMsg: "voip-room:fail <why>", errCode}:
//     1001  openid missing (mode video)
//     1002  an attribute has a value outside its list
//     1003  the video could not be played
//     1004  the display has no such source (HTTP 404)
//     1005  the connection failed (HTTP, ICE or DTLS)
//     1006  no frame arrived within 5 s (the connection stays up: a frame
//           that comes later is still shown)
//   ended  detail {source}: the daemon ended the stream (the member left).
// Properties for the page and for tests: state ("idle", "connecting",
// "connected", "playing", "ended", "failed"), sourceId, video (the inner
// <video>), lastError, reconnect().

const VALUES = {
  mode: ['camera', 'video'],
  'device-position': ['front', 'back'],
  'object-fit': ['fill', 'contain', 'cover'],
};
const DEFAULTS = { mode: 'camera', 'device-position': 'front', 'object-fit': 'fill' };

const NO_FRAME_MS = 5000; // a keyframe is due within one PLI round trip; 5 s is generous
const GATHER_MS = 1000; // loopback host candidates gather in milliseconds

const SCRIPT_ORIGIN = new URL(import.meta.url).origin;

const TEMPLATE = `
<style>
  :host { display: inline-block; width: 160px; height: 120px; position: relative;
    border-radius: 10px; overflow: hidden; background: #2b3440; color: #fff;
    font: 14px system-ui, sans-serif; box-sizing: border-box; }
  video { position: absolute; inset: 0; width: 100%; height: 100%; display: none; }
  :host([data-has-video]) video { display: block; }
  :host([data-has-video]) .avatar { display: none; }
  .avatar { position: absolute; left: 50%; top: 42%; transform: translate(-50%, -50%);
    width: 56px; height: 56px; border-radius: 50%; display: grid; place-items: center;
    font-size: 22px; font-weight: 600; text-transform: uppercase; }
  .label { position: absolute; left: 0; right: 0; bottom: 0; padding: 4px 8px;
    background: rgba(0, 0, 0, .45); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
</style>
<video playsinline autoplay muted></video>
<div class="avatar" part="avatar"></div>
<div class="label" part="label"></div>`;

export class VoipRoomElement extends HTMLElement {
  static observedAttributes = ['openid', 'mode', 'device-position', 'object-fit', 'server'];

  constructor() {
    super();
    this.attachShadow({ mode: 'open' }).innerHTML = TEMPLATE;
    this.video = this.shadowRoot.querySelector('video');
    this.session = null; // {key, pc, location, timer, playing, ended}
    this.state = 'idle';
    this.lastError = null;
  }

  get openid() { return this.getAttribute('openid') || ''; }
  set openid(v) { this.setAttribute('openid', v); }
  get mode() { return this.attr('mode'); }
  set mode(v) { this.setAttribute('mode', v); }
  get devicePosition() { return this.attr('device-position'); }
  set devicePosition(v) { this.setAttribute('device-position', v); }
  get objectFit() { return this.attr('object-fit'); }
  set objectFit(v) { this.setAttribute('object-fit', v); }
  get server() { return (this.getAttribute('server') || SCRIPT_ORIGIN).replace(/\/+$/, ''); }
  set server(v) { this.setAttribute('server', v); }

  get sourceId() {
    if (this.mode === 'camera') return this.devicePosition === 'back' ? 'self:back' : 'self';
    return this.openid;
  }

  connectedCallback() {
    this.validate();
    this.render();
    this.connect();
  }

  disconnectedCallback() {
    this.stop();
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue) return;
    if (name in VALUES || name === 'openid') this.validate(name);
    this.render();
    if (name !== 'object-fit' && this.isConnected) this.connect();
  }

  // attr returns the attribute's value, or its default when absent or
  // invalid (the invalid value itself is reported once, by validate).
  attr(name) {
    const v = this.getAttribute(name);
    return VALUES[name].includes(v) ? v : DEFAULTS[name];
  }

  validate(only) {
    if (!this.isConnected) return;
    if ((!only || only === 'openid' || only === 'mode') && this.mode === 'video' && !this.openid) {
      this.fail(1001, 'openid is required in mode video');
    }
    for (const name of Object.keys(VALUES)) {
      if (only && only !== name) continue;
      const v = this.getAttribute(name);
      if (v !== null && !VALUES[name].includes(v)) {
        this.fail(1002, `${name} "${v}" is not one of ${VALUES[name].join(', ')}`);
      }
    }
  }

  render() {
    const label = this.openid || (this.mode === 'camera' ? 'me' : '');
    this.shadowRoot.querySelector('.label').textContent = label;
    this.title = label;
    const avatar = this.shadowRoot.querySelector('.avatar');
    avatar.textContent = initials(label);
    avatar.style.background = `hsl(${hue(label)} 45% 42%)`;
    this.video.style.objectFit = this.objectFit;
    // Only one's own front camera is mirrored, as every phone shows it.
    const mirror = this.mode === 'camera' && this.devicePosition === 'front';
    this.video.style.transform = mirror ? 'scaleX(-1)' : '';
  }

  // reconnect drops the current session, if any, and connects again.
  reconnect() {
    this.stop();
    if (this.isConnected) this.connect();
  }

  // connect opens a session for the current attributes, unless one for the
  // same server and source exists (or failed: a failure is reported once,
  // until the attributes change or reconnect() is called).
  async connect() {
    const source = this.sourceId;
    const server = this.server;
    const key = `${server}|${source}`;
    if (this.session && this.session.key === key) return;
    this.stop();
    if (!source) return; // mode video without openid: already reported
    const pc = new RTCPeerConnection();
    const sess = { key, pc, location: null, timer: 0, playing: false, ended: false };
    this.session = sess;
    this.setState('connecting');
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.ontrack = (e) => this.onTrack(sess, e);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected' && !sess.playing && !sess.ended) this.setState('connected');
      if (pc.connectionState === 'failed') this.broken(sess, 1005, 'the media connection failed');
    };
    const url = `${server}/whep/${encodeURIComponent(source)}`;
    try {
      await pc.setLocalDescription();
      await gathered(pc, GATHER_MS);
      if (sess.ended) return;
      const res = await fetch(url, {
        method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp,
      });
      const body = await res.text();
      if (res.status === 201) sess.location = new URL(res.headers.get('Location'), url).href;
      if (sess.ended) { this.deleteSession(sess).finally(() => pc.close()); return; }
      if (res.status === 404) { this.broken(sess, 1004, `no source "${source}" at ${server}`); return; }
      if (res.status !== 201) throw new Error(`HTTP ${res.status}: ${body.trim()}`);
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
      sess.timer = setTimeout(() => {
        if (!sess.playing && !sess.ended) this.fail(1006, `no video from "${source}" within ${NO_FRAME_MS / 1000} s`);
      }, NO_FRAME_MS);
    } catch (e) {
      this.broken(sess, 1005, `connecting to ${url}: ${e.message}`);
    }
  }

  onTrack(sess, e) {
    if (sess.ended) return;
    const track = e.track;
    this.video.srcObject = new MediaStream([track]);
    this.video.play().catch((err) => {
      // A newer srcObject interrupting play() is not a failure.
      if (err.name !== 'AbortError' && !sess.ended) this.fail(1003, `video playback: ${err.message}`);
    });
    const firstFrame = () => {
      if (sess.ended || sess.playing) return;
      sess.playing = true;
      clearTimeout(sess.timer);
      this.toggleAttribute('data-has-video', true);
      this.setState('playing');
    };
    if (this.video.requestVideoFrameCallback) this.video.requestVideoFrameCallback(firstFrame);
    else this.video.addEventListener('loadeddata', firstFrame, { once: true });
    // The daemon ends a session by closing its PeerConnection: the DTLS
    // close_notify reaches the browser at once, long before ICE would
    // notice the silence.
    const dtls = e.receiver.transport;
    if (dtls) {
      dtls.addEventListener('statechange', () => {
        if (dtls.state === 'closed' || dtls.state === 'failed') this.ended(sess);
      });
    }
    track.addEventListener('ended', () => this.ended(sess));
  }

  // ended handles the daemon ending the stream (the member left).
  ended(sess) {
    if (sess.ended) return;
    this.close(sess, 'ended');
    this.dispatchEvent(new CustomEvent('ended', { detail: { source: this.sourceId } }));
  }

  // broken ends a session that failed and reports why.
  broken(sess, errCode, why) {
    if (sess.ended) return;
    this.close(sess, 'failed');
    this.fail(errCode, why);
  }

  // stop ends the current session on the page's behalf (an attribute
  // changed, the element left the document): the daemon is told at once.
  stop() {
    const sess = this.session;
    if (!sess) return;
    if (!sess.ended) {
      // DELETE before closing: closing alone would end the session too
      // (the daemon sees the DTLS close), and would then answer the
      // DELETE with a 404.
      this.close(sess, 'idle', false);
      this.deleteSession(sess).finally(() => sess.pc.close());
    }
    this.session = null;
  }

  close(sess, state, closePC = true) {
    sess.ended = true;
    clearTimeout(sess.timer);
    if (closePC) sess.pc.close();
    if (this.session === sess) {
      if (this.video.srcObject) this.video.srcObject.getTracks().forEach((t) => t.stop());
      this.video.srcObject = null;
      this.toggleAttribute('data-has-video', false);
      this.setState(state);
    }
  }

  // deleteSession ends the session on the daemon's side (WHEP's DELETE);
  // the promise settles when the daemon answered or could not be reached.
  deleteSession(sess) {
    const loc = sess.location;
    sess.location = null;
    if (!loc) return Promise.resolve();
    return fetch(loc, { method: 'DELETE', keepalive: true }).catch(() => {});
  }

  setState(state) {
    this.state = state;
    this.setAttribute('data-state', state);
  }

  fail(errCode, why) {
    this.lastError = { errMsg: `voip-room:fail ${why}`, errCode };
    this.dispatchEvent(new CustomEvent('error', { detail: this.lastError }));
  }
}

// gathered resolves once ICE gathering completes, or after ms: WHEP here
// is not trickled, so the offer should carry the browser's candidates
// (the daemon also learns them from the browser's checks).
function gathered(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
    });
  });
}

function initials(id) {
  const parts = id.split(/[^A-Za-z0-9]+/).filter(Boolean);
  if (parts.length === 0) return '?';
  return parts.length === 1 ? parts[0].slice(0, 2) : parts[0][0] + parts[1][0];
}

// hue gives each openid a stable colour, so a member keeps it across renders.
function hue(id) {
  let h = 0;
  for (const ch of id) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

if (!customElements.get('voip-room')) customElements.define('voip-room', VoipRoomElement);
