// voip-room.js: the <voip-room> custom element, after WeChat's voip-room
// component (seed 004): one tile per room member, or the device's own
// camera. One file for two pages (package web embeds it; roomd and the
// daemon's local display both serve it at /voip-room.js), which differ in
// where the picture comes from:
//   - roomd's browser client feeds each tile itself: it assigns srcObject (a
//     MediaStream) and sets speaking and muted;
//   - a kiosk UI on the device lets the element fetch its picture: without a
//     srcObject, the element connects itself over WHEP to the display
//     (daemon/display) for the source "self" (mode camera, front),
//     "self:back" (mode camera, back) or the openid (mode video).
// Either way the inner video is muted: a member's audio is played once,
// whether or not it has a tile, by the page (roomd's client) or by the
// daemon.
//
// Attributes (the seed's names and defaults):
//   openid           the member shown: required, except in mode camera over
//                    WHEP, where the source is "self" and openid only a label
//   mode             "camera" (this device's own camera) | "video" (another member); default camera
//   device-position  "front" | "back", mode camera only; default front (shown mirrored, as a selfie)
//   object-fit       "fill" | "contain" | "cover"; default fill
// Our additions:
//   server           the display's base URL; default VoipRoomElement.defaultServer,
//                    itself by default the origin this script was loaded from (the
//                    page's own origin when the display serves the page). Changing
//                    openid, mode, device-position or server connects again when
//                    the source or server changed.
//   speaking         boolean: the member is talking now (a ring around the tile)
//   muted            boolean: the member's microphone is muted (a badge)
//   ::part(video), ::part(avatar), ::part(label)
//                    the picture, the initials shown without one, the name bar:
//                    for the page's own styling (roomd's dims a stale picture)
//   VoipRoomElement.setStrings({muted, me})
//                    static: the words the element shows ("muted", "me"), for a
//                    page in another language
//   srcObject        property: a MediaStream the page shows in the tile. Like a
//                    <video>'s srcObject over its src, it takes precedence: while
//                    it is set the element connects nowhere (a WHEP session ends
//                    at once) and shows the stream's video, or the member's
//                    initials while it has none (a video track added to the
//                    stream later shows by itself). Set back to null, the element
//                    connects over WHEP again. The page's tracks stay the page's:
//                    the element never stops them.
//   VoipRoomElement.defaultServer
//                    static: the server of every element without a server
//                    attribute. "" means none: an element without srcObject
//                    then shows initials and connects nowhere. roomd's client
//                    sets "" before it makes a tile: it feeds every tile
//                    itself, and roomd has no WHEP endpoint to try.
//
// Events:
//   error  (the seed's binderror) detail {errMsg: "voip-room:fail <why>", errCode}:
//     1001  openid missing (see openid)
//     1002  an attribute has a value outside its list
//     1003  the video could not be played
//     1004  WHEP: the display has no such source (HTTP 404)
//     1005  WHEP: the connection failed (HTTP, ICE or DTLS)
//     1006  WHEP: no frame arrived within 5 s (the connection stays up: a
//           frame that comes later is still shown)
//   ended  detail {source}: WHEP: the daemon ended the stream (the member
//          left). Never for a srcObject: the page knows its streams.
// Properties for the page and for tests: state ("idle", "connecting",
// "connected", "playing", "ended", "failed"; with a srcObject only "idle"
// and "playing", from the first frame of the stream's video shown), also
// the attribute data-state once it changed; sourceId (the WHEP source),
// video (the inner <video>), lastError, reconnect(), updateVideo() (look
// at the srcObject's tracks again). The attribute data-has-video is
// present while the tile shows video rather than initials.

const VALUES = {
  mode: ['camera', 'video'],
  'device-position': ['front', 'back'],
  'object-fit': ['fill', 'contain', 'cover'],
};
const DEFAULTS = { mode: 'camera', 'device-position': 'front', 'object-fit': 'fill' };
// The attributes that choose the WHEP source or server.
const SOURCE_ATTRS = ['openid', 'mode', 'device-position', 'server'];

const NO_FRAME_MS = 5000; // a keyframe is due within one PLI round trip; 5 s is generous
const GATHER_MS = 1000; // loopback host candidates gather in milliseconds

const SCRIPT_ORIGIN = new URL(import.meta.url).origin;

const TEMPLATE = `
<style>
  :host { display: inline-block; width: 160px; height: 120px; position: relative;
    border-radius: 10px; overflow: hidden; background: #2b3440; color: #fff;
    font: 14px system-ui, sans-serif; box-sizing: border-box; }
  :host([speaking]) { box-shadow: 0 0 0 3px #3ccf6a; }
  video { position: absolute; inset: 0; width: 100%; height: 100%; display: none; }
  :host([data-has-video]) video { display: block; }
  :host([data-has-video]) .avatar { display: none; }
  .avatar { position: absolute; left: 50%; top: 42%; transform: translate(-50%, -50%);
    width: 56px; height: 56px; border-radius: 50%; display: grid; place-items: center;
    font-size: 22px; font-weight: 600; text-transform: uppercase; }
  .label { position: absolute; left: 0; right: 0; bottom: 0; padding: 4px 8px;
    background: rgba(0, 0, 0, .45); display: flex; gap: 6px; align-items: center;
    white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .name { overflow: hidden; text-overflow: ellipsis; }
  .badge { margin-left: auto; font-size: 12px; }
  .dot { width: 8px; height: 8px; border-radius: 50%; background: #667; flex: none; }
  :host([speaking]) .dot { background: #3ccf6a; }
</style>
<video part="video" playsinline autoplay muted></video>
<div class="avatar" part="avatar"></div>
<div class="label" part="label"><span class="dot"></span><span class="name"></span><span class="badge"></span></div>`;

export class VoipRoomElement extends HTMLElement {
  static observedAttributes = ['openid', 'mode', 'device-position', 'object-fit', 'server', 'speaking', 'muted'];

  // defaultServer is the server of the elements without a server attribute
  // (the header says more); set it before making elements.
  static defaultServer = SCRIPT_ORIGIN;

  // strings are the words the element shows of its own: the muted badge,
  // and the label of one's own camera without an openid. A page in another
  // language sets them with setStrings, which redraws the elements in the
  // document.
  static strings = { muted: 'muted', me: 'me' };
  static setStrings(s) {
    VoipRoomElement.strings = { ...VoipRoomElement.strings, ...s };
    for (const el of document.querySelectorAll('voip-room')) el.render();
  }

  constructor() {
    super();
    this.attachShadow({ mode: 'open' }).innerHTML = TEMPLATE;
    this.video = this.shadowRoot.querySelector('video');
    this.stream = null; // the page's srcObject
    this.session = null; // WHEP: {key, pc, location, timer, playing, ended}
    this.state = 'idle';
    this.lastError = null;
    this.openidMissing = false; // 1001 was reported and still holds
    this.connectQueued = false;
    this.onStreamTracks = () => this.updateVideo();
  }

  get openid() { return this.getAttribute('openid') || ''; }
  set openid(v) { this.setAttribute('openid', v); }
  get mode() { return this.attr('mode'); }
  set mode(v) { this.setAttribute('mode', v); }
  get devicePosition() { return this.attr('device-position'); }
  set devicePosition(v) { this.setAttribute('device-position', v); }
  get objectFit() { return this.attr('object-fit'); }
  set objectFit(v) { this.setAttribute('object-fit', v); }
  get server() {
    return (this.getAttribute('server') || VoipRoomElement.defaultServer || '').replace(/\/+$/, '');
  }
  set server(v) { this.setAttribute('server', v); }
  get speaking() { return this.hasAttribute('speaking'); }
  set speaking(v) { this.toggleAttribute('speaking', !!v); }
  get muted() { return this.hasAttribute('muted'); }
  set muted(v) { this.toggleAttribute('muted', !!v); }

  get sourceId() {
    if (this.mode === 'camera') return this.devicePosition === 'back' ? 'self:back' : 'self';
    return this.openid;
  }

  get srcObject() { return this.stream; }
  set srcObject(stream) {
    stream = stream || null;
    const old = this.stream;
    if (stream === old) {
      this.updateVideo();
      return;
    }
    if (old) {
      old.removeEventListener('addtrack', this.onStreamTracks);
      old.removeEventListener('removetrack', this.onStreamTracks);
    }
    this.stream = stream;
    if (stream) {
      this.stop(); // before the stream is shown: stop() ends the WHEP track
      // A stream whose video track is added later (a video room
      // renegotiates) must show up without the page assigning it again.
      stream.addEventListener('addtrack', this.onStreamTracks);
      stream.addEventListener('removetrack', this.onStreamTracks);
      this.video.srcObject = stream;
      this.setState('idle'); // until this stream's first frame
      this.updateVideo();
    } else {
      this.video.srcObject = null;
      this.toggleAttribute('data-has-video', false);
      this.setState('idle');
      this.queueConnect();
    }
    this.checkOpenid();
  }

  connectedCallback() {
    this.validate();
    this.checkOpenid(true);
    this.render();
    this.queueConnect();
  }

  disconnectedCallback() {
    this.stop();
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue) return;
    if (name in VALUES) this.validate(name); // no-op until connected
    if (name === 'openid' || name === 'mode' || name === 'server') this.checkOpenid();
    this.render();
    if (SOURCE_ATTRS.includes(name)) this.queueConnect();
  }

  // attr returns the attribute's value, or its default when absent or
  // invalid (the invalid value itself is reported once, by validate).
  attr(name) {
    const v = this.getAttribute(name);
    return VALUES[name].includes(v) ? v : DEFAULTS[name];
  }

  // validate reports the attributes with a value outside their list
  // (1002): all of them when the element is connected, then each one that
  // changes.
  validate(only) {
    if (!this.isConnected) return;
    for (const name of Object.keys(VALUES)) {
      if (only && only !== name) continue;
      const v = this.getAttribute(name);
      if (v !== null && !VALUES[name].includes(v)) {
        this.fail(1002, `${name} "${v}" is not one of ${VALUES[name].join(', ')}`);
      }
    }
  }

  // checkOpenid reports a missing openid (1001) when the element is
  // connected (fresh), and later when a change makes it missing (the
  // openid removed, mode video, a srcObject or no server in mode camera),
  // but not again while it stays missing.
  checkOpenid(fresh = false) {
    // A tile shows a member, named by its openid; only the device's own
    // camera fetched over WHEP has a source without one ("self").
    const needed = this.mode === 'video' || this.stream !== null || !this.server;
    const missing = this.isConnected && needed && !this.openid;
    if (missing && (fresh || !this.openidMissing)) {
      this.fail(1001, this.mode === 'video' ? 'openid is required in mode video' : 'openid is required');
    }
    this.openidMissing = missing;
  }

  render() {
    const root = this.shadowRoot;
    const words = VoipRoomElement.strings;
    const label = this.openid || (this.mode === 'camera' ? words.me : '');
    root.querySelector('.name').textContent = label;
    this.title = label;
    const avatar = root.querySelector('.avatar');
    avatar.textContent = initials(label);
    // Dark enough for the white initials (4.5:1 and more at every hue).
    avatar.style.background = `hsl(${hue(label)} 45% 30%)`;
    root.querySelector('.badge').textContent = this.muted ? words.muted : '';
    this.video.style.objectFit = this.objectFit;
    // Only one's own front camera is mirrored, as every video-call app does.
    const mirror = this.mode === 'camera' && this.devicePosition === 'front';
    this.video.style.transform = mirror ? 'scaleX(-1)' : '';
  }

  // updateVideo looks at the srcObject's tracks again: its video when it
  // has a video track, the initials otherwise. roomd's client calls it when
  // a member's video joins the stream the tile already holds. Without a
  // srcObject it does nothing: a WHEP session shows its own track.
  updateVideo() {
    const stream = this.stream;
    if (!stream) return;
    const hasVideo = stream.getVideoTracks().length > 0;
    this.toggleAttribute('data-has-video', hasVideo);
    if (!hasVideo) {
      this.setState('idle');
      return;
    }
    this.video.play().catch((e) => {
      // A newer srcObject interrupting play() is not a failure.
      if (e.name !== 'AbortError' && this.stream === stream) this.fail(1003, `video playback: ${e.message}`);
    });
    onFirstFrame(this.video, () => {
      if (this.stream === stream && this.hasAttribute('data-has-video')) this.setState('playing');
    });
  }

  // queueConnect brings the WHEP session in line with the element once the
  // script that changed it has run to its end (a microtask): a page that
  // sets several attributes, or appends an element and then gives it a
  // srcObject, leads to one decision rather than a session per step.
  queueConnect() {
    if (this.connectQueued) return;
    this.connectQueued = true;
    queueMicrotask(() => {
      this.connectQueued = false;
      this.connect();
    });
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
    // With a srcObject the page feeds the element (the setter ended any
    // session); out of the document it shows nothing (disconnectedCallback
    // ended it).
    if (this.stream || !this.isConnected) return;
    const source = this.sourceId;
    const server = this.server;
    const key = `${server}|${source}`;
    if (this.session && this.session.key === key) return;
    this.stop();
    if (!source || !server) return; // mode video without openid (reported), or no server: initials
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
    onFirstFrame(this.video, () => {
      if (sess.ended || sess.playing) return;
      sess.playing = true;
      clearTimeout(sess.timer);
      this.toggleAttribute('data-has-video', true);
      this.setState('playing');
    });
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
  // changed, a srcObject came, the element left the document): the daemon
  // is told at once.
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
      // The inner video holds the session's track here, never a page's
      // stream: the srcObject setter ends the session before showing one.
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

// onFirstFrame calls fn when the video next presents a frame (on
// loadeddata where requestVideoFrameCallback is missing).
function onFirstFrame(video, fn) {
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => fn());
  else video.addEventListener('loadeddata', () => fn(), { once: true });
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
