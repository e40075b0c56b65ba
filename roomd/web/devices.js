// devices.js: the camera, microphone and speaker the visitor chose, in
// the page's Devices panel. The choice is kept (localStorage) and asked
// for when the page next takes the microphone or camera (a device since
// unplugged gives way to the browser's default); choosing another while
// in a room or a call switches what is sent at once, without leaving
// (RoomClient.replaceTrack), and a speaker choice moves every <audio> the
// page plays to it (setSinkId, where the browser has it: the speaker
// chooser is hidden where it does not). The lists fill with names once
// the browser has granted the microphone (before that it names none).
//
// app.js and call.js listen for 'voipd-device' on window ({detail: {kind}})
// to switch what they send; window.voipd gains
//   devices()              Promise of {camera, microphone, speaker: [{deviceId, label}],
//                          chosen: {camera, microphone, speaker}} ('' = the default)
//   chooseDevice(kind, id) as the chooser does; a Promise that settles once
//                          the page sends from it

import { t, reasonWords } from './i18n.js';

const STORE = 'voipd.devices';
const KINDS = { camera: 'videoinput', microphone: 'audioinput', speaker: 'audiooutput' };
const $ = (sel) => document.querySelector(sel);

export const canChooseSpeaker = 'setSinkId' in HTMLMediaElement.prototype;

let chosen = load();
const switching = new Set(); // Promises of the switches under way (chooseDevice awaits them)

function load() {
  try {
    const c = JSON.parse(localStorage.getItem(STORE) || '{}');
    return { camera: String(c.camera || ''), microphone: String(c.microphone || ''), speaker: String(c.speaker || '') };
  } catch {
    return { camera: '', microphone: '', speaker: '' };
  }
}

export function chosenDevice(kind) {
  return chosen[kind];
}

// constraint is getUserMedia's constraint for kind ('camera' or
// 'microphone') from base (true, or an object of other constraints), with
// the chosen device (exactly: Chromium passes over an ideal deviceId).
function constraint(kind, base) {
  const id = chosen[kind];
  if (!base || !id) return base;
  return { ...(base === true ? {} : base), deviceId: { exact: id } };
}

// getMedia is getUserMedia({audio, video}) from the chosen devices; where
// one of them is gone (unplugged since it was chosen), from the browser's
// default instead.
export async function getMedia(audio, video) {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: constraint('microphone', audio), video: constraint('camera', video) });
  } catch (e) {
    const chose = (audio && chosen.microphone) || (video && chosen.camera);
    if (!chose || (e.name !== 'OverconstrainedError' && e.name !== 'NotFoundError')) throw e;
    console.warn('a chosen device is gone, using the default:', e.message);
    return navigator.mediaDevices.getUserMedia({ audio, video });
  }
}

// mediaReason maps getUserMedia's errors to the reason words of the control
// API (README.md, "Error codes").
export function mediaReason(e) {
  switch (e.name) {
    case 'NotAllowedError': case 'SecurityError': return 'permission';
    case 'NotFoundError': case 'OverconstrainedError': return 'absent';
    case 'NotReadableError': case 'AbortError': return 'busy';
    default: return 'internal';
  }
}

// list returns the devices the browser names now, by kind.
async function list() {
  const out = { camera: [], microphone: [], speaker: [] };
  const all = navigator.mediaDevices && navigator.mediaDevices.enumerateDevices
    ? await navigator.mediaDevices.enumerateDevices() : [];
  for (const [kind, mk] of Object.entries(KINDS)) {
    let n = 0;
    for (const d of all) {
      if (d.kind !== mk || !d.deviceId) continue;
      n++;
      out[kind].push({ deviceId: d.deviceId, label: d.label || t('devices.unnamed', { n }) });
    }
  }
  return out;
}

// refresh fills the choosers from the browser's list.
export async function refresh() {
  const found = await list();
  for (const kind of Object.keys(KINDS)) {
    const sel = $(`#${kind}-select`);
    if (!sel) continue;
    sel.replaceChildren();
    const def = document.createElement('option');
    def.value = '';
    def.textContent = t('devices.default');
    sel.append(def);
    for (const d of found[kind]) {
      if (d.deviceId === 'default') continue; // the browser's default: the option above
      const o = document.createElement('option');
      o.value = d.deviceId;
      o.textContent = d.label;
      sel.append(o);
    }
    sel.value = found[kind].some((d) => d.deviceId === chosen[kind]) ? chosen[kind] : '';
  }
  $('#speaker-select').closest('label').hidden = !canChooseSpeaker;
  return found;
}

// choose keeps kind's choice and has the page switch to it.
async function choose(kind, deviceId) {
  if (!(kind in KINDS)) throw new Error(`no device kind ${kind}`);
  chosen = { ...chosen, [kind]: String(deviceId || '') };
  try { localStorage.setItem(STORE, JSON.stringify(chosen)); } catch { /* kept for this page only */ }
  const sel = $(`#${kind}-select`);
  if (sel && sel.value !== chosen[kind]) sel.value = chosen[kind];
  if (kind === 'speaker') return sinkAll();
  window.dispatchEvent(new CustomEvent('voipd-device', { detail: { kind } }));
  await Promise.all([...switching]);
}

// track registers a switch under way, for chooseDevice to wait for.
export function track(p) {
  switching.add(p);
  p.finally(() => switching.delete(p)).catch(() => {});
  return p;
}

let failed = null; // {kind, reason} of the last switch that failed, while it stands

// reportSwitch shows under the choosers that switching to the chosen
// camera or microphone failed (reason: the control API's word), or clears
// it (reason null); what was sent before goes on.
export function reportSwitch(kind, reason) {
  failed = reason ? { kind, reason } : null;
  showFailed();
}

function showFailed() {
  const el = $('#device-error');
  el.hidden = !failed;
  el.textContent = failed ? t('devices.failed.' + failed.kind, { reason: reasonWords(failed.reason) }) : '';
}

// sink sends el's sound to the chosen speaker.
export function sink(el) {
  if (!canChooseSpeaker) return Promise.resolve();
  return el.setSinkId(chosen.speaker).catch((e) => console.warn('speaker:', e.message));
}

async function sinkAll() {
  await Promise.all([...document.querySelectorAll('audio')].map(sink));
}

// replaceIn swaps stream's track of the new one's kind for it, stopping
// the old one.
export function replaceIn(stream, next) {
  for (const old of next.kind === 'video' ? stream.getVideoTracks() : stream.getAudioTracks()) {
    stream.removeTrack(old);
    old.stop();
  }
  stream.addTrack(next);
}

window.voipd = Object.assign(window.voipd || {}, {
  devices: async () => ({ ...(await list()), chosen: { ...chosen } }),
  chooseDevice: (kind, deviceId) => choose(kind, deviceId),
});

for (const kind of Object.keys(KINDS)) {
  const sel = $(`#${kind}-select`);
  if (sel) sel.addEventListener('change', () => choose(kind, sel.value));
}
if (navigator.mediaDevices) navigator.mediaDevices.addEventListener('devicechange', () => refresh());
window.addEventListener('voipd-lang', () => { refresh(); showFailed(); });
refresh();
