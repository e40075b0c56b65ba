// voip-room.js: the <voip-room> custom element, after WeChat's voip-room
// component (seed 004): one tile per room member.
//
// Attributes (the seed's names and defaults):
//   openid           required: the member shown
//   mode             "camera" (this device's own tile) | "video" (another member); default camera
//   device-position  "front" | "back", camera mode only; default front (shown mirrored, as a selfie)
//   object-fit       "fill" | "contain" | "cover"; default fill
// Our additions, set by the page rather than by an author:
//   speaking         boolean: the member is talking now (a ring around the tile)
//   muted            boolean: the member's microphone is muted (a badge)
//   srcObject        property: a MediaStream; when it has a video track the
//                    tile shows it, otherwise the member's initials. The video
//                    element is always muted: a member's audio is played once,
//                    by the page, whether or not it has a tile.
//
// Errors fire an "error" event (the seed's binderror) whose detail is
// {errMsg: "voip-room:fail <why>", errCode}, with these codes:
//   1001  openid missing
//   1002  an attribute has a value outside its list
//   1003  the video could not be played

const VALUES = {
  mode: ['camera', 'video'],
  'device-position': ['front', 'back'],
  'object-fit': ['fill', 'contain', 'cover'],
};
const DEFAULTS = { mode: 'camera', 'device-position': 'front', 'object-fit': 'fill' };

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
<video playsinline autoplay muted></video>
<div class="avatar" part="avatar"></div>
<div class="label" part="label"><span class="dot"></span><span class="name"></span><span class="badge"></span></div>`;

export class VoipRoomElement extends HTMLElement {
  static observedAttributes = ['openid', 'mode', 'device-position', 'object-fit', 'speaking', 'muted'];

  constructor() {
    super();
    this.attachShadow({ mode: 'open' }).innerHTML = TEMPLATE;
    this.video = this.shadowRoot.querySelector('video');
    this.stream = null;
  }

  get openid() { return this.getAttribute('openid') || ''; }
  set openid(v) { this.setAttribute('openid', v); }
  get mode() { return this.attr('mode'); }
  set mode(v) { this.setAttribute('mode', v); }
  get devicePosition() { return this.attr('device-position'); }
  set devicePosition(v) { this.setAttribute('device-position', v); }
  get objectFit() { return this.attr('object-fit'); }
  set objectFit(v) { this.setAttribute('object-fit', v); }
  get speaking() { return this.hasAttribute('speaking'); }
  set speaking(v) { this.toggleAttribute('speaking', !!v); }
  get muted() { return this.hasAttribute('muted'); }
  set muted(v) { this.toggleAttribute('muted', !!v); }

  get srcObject() { return this.stream; }
  set srcObject(stream) {
    this.stream = stream || null;
    this.video.srcObject = this.stream;
    this.updateVideo();
    if (this.stream) {
      // A stream whose video track is added later (a video room renegotiates)
      // must show up without the page assigning it again.
      this.stream.onaddtrack = () => this.updateVideo();
      this.stream.onremovetrack = () => this.updateVideo();
    }
  }

  connectedCallback() {
    this.validate();
    this.render();
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (oldValue === newValue) return;
    if (name in VALUES || name === 'openid') this.validate(name); // no-op until connected
    this.render();
  }

  // attr returns the attribute's value, or its default when absent or invalid
  // (the invalid value itself is reported once, by validate).
  attr(name) {
    const v = this.getAttribute(name);
    return VALUES[name].includes(v) ? v : DEFAULTS[name];
  }

  validate(only) {
    if (!this.isConnected) return;
    if ((!only || only === 'openid') && !this.openid) {
      this.fail(1001, 'openid is required');
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
    const root = this.shadowRoot;
    const id = this.openid;
    root.querySelector('.name').textContent = id;
    this.title = id;
    const avatar = root.querySelector('.avatar');
    avatar.textContent = initials(id);
    avatar.style.background = `hsl(${hue(id)} 45% 42%)`;
    root.querySelector('.badge').textContent = this.muted ? 'muted' : '';
    this.video.style.objectFit = this.objectFit;
    // Only one's own front camera is mirrored, as every video-call app does.
    const mirror = this.mode === 'camera' && this.devicePosition === 'front';
    this.video.style.transform = mirror ? 'scaleX(-1)' : '';
  }

  updateVideo() {
    const hasVideo = !!this.stream && this.stream.getVideoTracks().length > 0;
    this.toggleAttribute('data-has-video', hasVideo);
    if (hasVideo) {
      this.video.play().catch((e) => {
        // A newer srcObject interrupting play() is not a failure.
        if (e.name !== 'AbortError') this.fail(1003, `video playback: ${e.message}`);
      });
    }
  }

  fail(errCode, why) {
    this.dispatchEvent(new CustomEvent('error', {
      detail: { errMsg: `voip-room:fail ${why}`, errCode },
    }));
  }
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
