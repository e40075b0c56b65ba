// app.js: the page of roomd's browser client. It reads the query, gets a
// signature (from the URL, or from /dev/sign when roomd runs with -dev),
// joins the group room with the microphone through RoomClient, and shows the
// members as <voip-room> tiles with who is speaking.
//
// Query: groupId (default "demo"), openid (default "browser-" + random),
// autojoin=1 (join on load), roomType=video (join a video room with the
// camera, 640x480; default voice), and without dev mode appId, nonceStr,
// timeStamp, signature (one join's worth; a nonce is accepted once).
//
// Tests read the page through window.voipd rather than the DOM:
//   state       "idle" | "joining" | "joined" | "reconnecting" | "left" | "error"
//               reconnecting: the connection to the room server was lost
//               (or it restarted) and the page is getting back into its seat
//               by itself (room-client.js); members stay as they were, Leave
//               and the mutes work, Join waits. Then joined again, or error
//               (lastError "resume" when the seat was refused, "unreachable"
//               when the server's grace ran out).
//   reconnectCause  {reason, message} of the last reconnecting, null before
//               (message "no media from the room server" when the media
//               connection stayed disconnected, "the media connection
//               failed" when the browser called it failed)
//   members     openids in the room, this page's own included
//   speakers    openids talking now
//   lastError   null | {reason, message}
//   noCamera    true when a video room was joined with the microphone alone
//               (no camera found); the page says so
//   cameraRefused  the same where the camera was refused (the microphone
//               allowed); the page says so, with how to allow it
//   network     {quality: "unknown" | "good" | "poor", loss, sendLoss, rtt}: the
//               room's media as the browser's statistics show it (netquality.js);
//               poor is shown beside the state, with the figures
//   muteConfig  {muteMicrophone, muteEarphone}
//   videoMembers openids publishing video (video rooms), as the server says
//   stats()     Promise of {inboundAudio, outboundAudio: {packetsSent, bytesSent},
//               localAudioLevel, inboundVideo, outboundVideo: {framesEncoded, packetsSent}}:
//               inboundAudio: one per member, [{member, packetsReceived, bytesReceived,
//                 packetsLost, jitter, audioLevel, totalAudioEnergy, totalSamplesReceived,
//                 concealedSamples, silentConcealedSamples, concealmentEvents,
//                 insertedSamplesForDeceleration, removedSamplesForAcceleration,
//                 fecPacketsReceived, lastPacketReceivedTimestamp}]
//               network: {rtt (s, the selected candidate pair's), sendLoss (0..1, the
//                 far side's receiver report of what it lost of ours)}
//               inboundVideo: one per member whose video comes, [{member, framesDecoded,
//                 frameWidth, frameHeight, packetsReceived, framesReceived, framesDropped,
//                 freezeCount, totalFreezesDuration, pauseCount, totalPausesDuration,
//                 packetsLost, nackCount, pliCount, keyFramesDecoded,
//                 lastPacketReceivedTimestamp}]
//               Each field is the inbound-rtp report's (WebRTC stats names, durations
//               in seconds, samples at the decoder's rate), 0 when the browser omits it.
//   join(), leave(), setMute({muteMicrophone?, muteEarphone?})
//   subscribeVideo(list)  receive only these members' video ([]: none)
//   sending()   {microphone, camera}: {deviceId, label} of the tracks the room's
//               senders carry now (devices.js switches them)
//   deviceError null | {kind, reason, message}: the last device switch that failed
//   frameNumber(member)   the frame number voipd's pattern camera drew on the
//               member's current video frame, or null when unreadable

import { RoomClient } from './room-client.js';
import { readFrameNumber } from './framenumber.js';
import { VoipRoomElement } from './voip-room.js';
import { t, reasonWords, browserKind } from './i18n.js';
import { NetWatch, showQuality } from './netquality.js';
import { getMedia, mediaReason, refresh as refreshDevices, track as trackSwitch, sink, replaceIn, reportSwitch } from './devices.js';

// voip-room.js is not in this directory: roomd serves it from package web,
// which it shares with the daemon's local display. This page feeds every
// tile its member's stream (srcObject), often only after the tile is shown:
// no tile is to look for a WHEP source meanwhile, and roomd has none (the
// element's header).
VoipRoomElement.defaultServer = '';
// The tiles' own words, in the page's language.
const tileWords = () => VoipRoomElement.setStrings({ muted: t('tile.muted'), me: t('tile.me') });
tileWords();

// audioLevel is linear 0..1 (WebRTC stats); 0.01 is about -40 dBov, above
// the comfort noise of a quiet room and below any voice.
const SPEAKING_LEVEL = 0.01;
const STATS_MS = 300;

const $ = (sel) => document.querySelector(sel);
const query = new URLSearchParams(location.search);
const roomType = query.get('roomType') === 'video' ? 'video' : 'voice';
const noStats = () => ({
  inboundAudio: [], outboundAudio: { packetsSent: 0, bytesSent: 0 }, localAudioLevel: 0,
  inboundVideo: [], outboundVideo: { framesEncoded: 0, packetsSent: 0 }, network: { rtt: 0, sendLoss: 0 },
});

// devices.js, imported above, ran first and put its part in window.voipd.
const hook = Object.assign(window.voipd || {}, {
  state: 'idle',
  members: [],
  speakers: [],
  lastError: null,
  noCamera: false,
  cameraRefused: false,
  network: new NetWatch().summary(),
  reconnectCause: null,
  muteConfig: { muteMicrophone: false, muteEarphone: false },
  videoMembers: [],
  videoHint: false, // the page says its voice join misses the members' video
  roomType,
  stats: () => (client ? client.stats() : Promise.resolve(noStats())),
  join: () => join(),
  leave: () => leave(),
  setMute: (mc) => setMute(mc),
  subscribeVideo: (list) => { if (client) client.subscribeVideo(list); },
  frameNumber: (member) => frameNumber(member),
  sending: () => (client ? client.sending() : {}),
});
window.voipd = hook;

let client = null;
let localStream = null;
let statsTimer = null;
const netWatch = new NetWatch();
const tiles = new Map();   // openid -> <voip-room>
const audios = new Map();  // openid -> <audio>
const streams = new Map(); // openid -> MediaStream of that member

$('#group-id').value = query.get('groupId') || 'demo';
const joinKey = roomType === 'video' ? 'join.video' : 'join.voice';
$('#join').dataset.i18n = joinKey;
$('#join').textContent = t(joinKey);
$('#openid').value = query.get('openid') || 'browser-' + Math.random().toString(36).slice(2, 8);

async function join() {
  if (hook.state === 'joining' || hook.state === 'joined' || hook.state === 'reconnecting') return;
  const groupId = $('#group-id').value.trim() || 'demo';
  const openid = $('#openid').value.trim() || 'browser-' + Math.random().toString(36).slice(2, 8);
  hook.openid = openid;
  hook.groupId = groupId;
  hook.lastError = null;
  $('#error').hidden = true;
  setState('joining');

  let creds;
  try {
    creds = await credentials(openid, groupId);
    localStream = await localMedia();
  } catch (e) {
    return showError(e.reason || 'internal', e.message);
  }

  client = new RoomClient({ wsURL: wsURL(), creds, openid, groupId, muteConfig: hook.muteConfig, roomType });
  client.addEventListener('state', (ev) => {
    setState(ev.detail.state);
    if (ev.detail.state === 'joined') startStats();
    if (ev.detail.state === 'reconnecting') {
      netWatch.reset(); // no media meanwhile: judged afresh when back
      showNetwork();
      hook.reconnectCause = ev.detail.cause;
      showSpeakers([]); // no media meanwhile
    }
  });
  client.addEventListener('members', (ev) => setMembers(ev.detail.members));
  client.addEventListener('track', (ev) => addStream(ev.detail.member, ev.detail.stream));
  client.addEventListener('videomembers', (ev) => {
    hook.videoMembers = ev.detail.members;
    showVideoHint();
  });
  client.addEventListener('error', (ev) => showError(ev.detail.reason, ev.detail.message));
  client.join(localStream);
}

function leave() {
  if (client) client.leave();
  teardown();
}

function setMute(mc) {
  hook.muteConfig = { ...hook.muteConfig, ...mc };
  if (client) client.setMute(hook.muteConfig);
  for (const a of audios.values()) a.muted = hook.muteConfig.muteEarphone;
  renderMute();
}

// renderMute shows the mute state on the buttons and the own tile.
function renderMute() {
  const mic = hook.muteConfig.muteMicrophone;
  const ear = hook.muteConfig.muteEarphone;
  $('#mute').setAttribute('aria-pressed', String(mic));
  $('#mute').textContent = t(mic ? 'mute.off' : 'mute.on');
  $('#deafen').setAttribute('aria-pressed', String(ear));
  $('#deafen').textContent = t(ear ? 'deafen.off' : 'deafen.on');
  const self = tiles.get(hook.openid);
  if (self) self.muted = mic;
}

// credentials returns {appId, nonceStr, timeStamp, signature}: from the URL
// when it carries a signature (production: the operator's backend signed),
// else from roomd's dev signer.
async function credentials(openid, groupId) {
  if (query.has('signature')) {
    const c = {};
    for (const k of ['appId', 'nonceStr', 'timeStamp', 'signature']) c[k] = query.get(k) || '';
    const missing = Object.keys(c).filter((k) => !c[k]);
    if (missing.length) throw failure('params', `the URL lacks ${missing.join(', ')}`);
    return c;
  }
  const res = await fetch('/dev/sign?' + new URLSearchParams({ openid, groupId }));
  if (res.status === 404) {
    throw failure('params', 'the URL has no signature and this server does not sign joins (not in dev mode)');
  }
  if (!res.ok) throw failure('internal', `/dev/sign answered HTTP ${res.status}`);
  return res.json();
}

function wsURL() {
  return (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/ws';
}

// localMedia asks for the microphone, and the camera in a video room. A
// video room without a camera is joined with the microphone alone (the
// others' video still comes) and the page says so; anything else refused
// is an error with the control API's reason word.
async function localMedia() {
  const video = roomType === 'video' ? { width: 640, height: 480 } : false;
  hook.noCamera = false;
  $('#no-camera').hidden = true;
  hook.cameraRefused = false;
  $('#camera-refused').hidden = true;
  let why;
  try {
    const stream = await getMedia(true, video);
    refreshDevices(); // the browser names its devices now
    return stream;
  } catch (e) {
    why = mediaReason(e);
    if (!video || (why !== 'absent' && why !== 'permission')) {
      throw failure(why, `${video ? 'camera or ' : ''}microphone: ${e.message}`);
    }
  }
  // No camera, or the camera refused: the microphone alone, if it is
  // allowed (a refusal of both fails here, with the permission's advice).
  const stream = await getMedia(true, false)
    .catch((e) => { throw failure(mediaReason(e), `microphone: ${e.message}`); });
  if (why === 'absent') {
    hook.noCamera = true;
    $('#no-camera').hidden = false;
  } else {
    hook.cameraRefused = true;
    showCameraRefused();
  }
  refreshDevices();
  return stream;
}

// showCameraRefused says the camera was refused and how to allow it.
function showCameraRefused() {
  const el = $('#camera-refused');
  el.hidden = !hook.cameraRefused;
  el.textContent = hook.cameraRefused ? t('cameraRefused') + ' ' + t('help.permission.' + browserKind()) : '';
}

// switchDevice sends from the microphone or camera just chosen (devices.js)
// while in the room: the new track replaces the old on its sender, the
// own tile shows it. A device that cannot be opened leaves the old one
// sending and says so in the console and hook.deviceError.
async function switchDevice(kind) {
  const c = client;
  if (!c || !localStream || (hook.state !== 'joined' && hook.state !== 'reconnecting')) return;
  if (kind === 'camera' && !localStream.getVideoTracks().length) return; // not sending video
  let next;
  try {
    const s = await (kind === 'camera' ? getMedia(false, { width: 640, height: 480 }) : getMedia(true, false));
    next = s.getTracks()[0];
  } catch (e) {
    hook.deviceError = { kind, reason: mediaReason(e), message: e.message };
    reportSwitch(kind, hook.deviceError.reason);
    console.warn('device switch:', kind, e.message);
    return;
  }
  if (client !== c || !localStream) { next.stop(); return; }
  hook.deviceError = null;
  reportSwitch(kind, null);
  replaceIn(localStream, next);
  await c.replaceTrack(next);
  const self = tiles.get(hook.openid);
  if (self) self.updateVideo();
}

function failure(reason, message) {
  const e = new Error(message);
  e.reason = reason;
  return e;
}

function setState(state) {
  hook.state = state;
  // style.css reads it: in a room the join form goes.
  document.body.dataset.room = state;
  const el = $('#state');
  el.textContent = t('state.' + state);
  el.dataset.state = state;
  // Reconnecting is still in the room: the seat is kept, and leaving or
  // muting then works as when joined.
  const inRoom = state === 'joined' || state === 'reconnecting';
  $('#join').disabled = state === 'joining' || inRoom;
  $('#group-id').disabled = $('#openid').disabled = state === 'joining' || inRoom;
  for (const id of ['#mute', '#deafen', '#leave']) $(id).disabled = !inRoom;
  el.title = state === 'reconnecting' ? t('state.reconnectingTitle') : '';
  // The banner says it in full (the state badge above is the live region).
  $('#reconnecting').hidden = state !== 'reconnecting';
}

// showVideoHint says so when this page joined a room as voice while its
// members send video (a link without roomType=video): it receives none of
// it, so it offers the same page with video.
function showVideoHint() {
  const others = hook.videoMembers.filter((m) => m !== hook.openid);
  const show = roomType === 'voice' && others.length > 0;
  if (show) {
    const url = new URL(location.href);
    url.searchParams.set('roomType', 'video');
    $('#video-link').href = url.toString();
  }
  $('#video-hint').hidden = !show;
  hook.videoHint = show;
}

function showError(reason, message) {
  hook.lastError = { reason, message };
  const box = $('#error');
  box.querySelector('.words').textContent = reasonWords(reason);
  box.querySelector('.reason').textContent = reason;
  box.querySelector('.message').textContent = message;
  showHelp();
  box.hidden = false;
  setState('error');
  teardown();
}

// showHelp says, for a refused microphone or camera, how to allow it in
// the browser at hand.
function showHelp() {
  const help = $('#error .help');
  const refused = hook.lastError && hook.lastError.reason === 'permission';
  help.hidden = !refused;
  help.textContent = refused ? t('help.permission.' + browserKind()) : '';
}

function setMembers(list) {
  // The server's list names this member too; adding it when absent keeps the
  // page right whichever way a server chooses.
  const self = (hook.state === 'joined' || hook.state === 'reconnecting') && !list.includes(hook.openid);
  const members = self ? [...list, hook.openid] : [...list];
  hook.members = members;
  for (const [id, tile] of tiles) {
    if (!members.includes(id)) { tile.remove(); tiles.delete(id); }
  }
  for (const [id, a] of audios) {
    if (!members.includes(id)) { a.srcObject = null; a.remove(); audios.delete(id); streams.delete(id); }
  }
  for (const id of members) {
    if (tiles.has(id)) continue;
    const tile = document.createElement('voip-room');
    tile.openid = id;
    tile.mode = id === hook.openid ? 'camera' : 'video';
    // The own tile is the small one (style.css): the others are who matters.
    tile.classList.toggle('self', id === hook.openid);
    // A picture keeps its shape in a tile of another shape (the element's
    // default, WeChat's, stretches it).
    tile.objectFit = 'contain';
    tile.addEventListener('error', (ev) => console.warn('voip-room', id, ev.detail.errMsg));
    const stream = id === hook.openid ? localStream : streams.get(id);
    if (stream) tile.srcObject = stream;
    if (id === hook.openid) tile.muted = hook.muteConfig.muteMicrophone;
    $('#members').append(tile);
    tiles.set(id, tile);
  }
  $('#count').textContent = members.length ? `(${members.length})` : '';
  $('#empty').hidden = members.length > 0;
}

function addStream(member, stream) {
  streams.set(member, stream);
  let a = audios.get(member);
  if (!a) {
    a = document.createElement('audio');
    a.autoplay = true;
    a.dataset.member = member;
    $('#audio').append(a);
    audios.set(member, a);
  }
  if (a.srcObject !== stream) a.srcObject = stream;
  a.muted = hook.muteConfig.muteEarphone;
  sink(a);
  a.play().catch((e) => console.warn('audio of', member, 'did not start:', e.message));
  const tile = tiles.get(member);
  if (tile && tile.srcObject !== stream) tile.srcObject = stream;
  // The member's video joins the stream its audio came in on: the tile
  // already holds it and must look at it again.
  else if (tile) tile.updateVideo();
}

// frameNumber draws the member's current video frame on a canvas and reads
// the pattern camera's frame mark from it (framenumber.js): null when the
// member has no tile, no decoded frame yet, or no readable mark.
function frameNumber(member) {
  const tile = tiles.get(member);
  const v = tile && tile.shadowRoot.querySelector('video');
  if (!v || !v.videoWidth || !v.videoHeight) return null;
  const c = document.createElement('canvas');
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  const g = c.getContext('2d', { willReadFrequently: true });
  g.drawImage(v, 0, 0);
  return readFrameNumber(g.getImageData(0, 0, c.width, c.height));
}

// startStats polls the peer connection's statistics for the speaking state:
// inbound audioLevel for the others, the microphone's level for oneself.
function startStats() {
  clearInterval(statsTimer);
  statsTimer = setInterval(async () => {
    if (!client || hook.state !== 'joined') return;
    const s = await client.stats().catch(() => null);
    if (!s || hook.state !== 'joined') return; // it may have changed meanwhile
    const speakers = s.inboundAudio.filter((a) => a.audioLevel > SPEAKING_LEVEL).map((a) => a.member);
    if (!hook.muteConfig.muteMicrophone && s.localAudioLevel > SPEAKING_LEVEL) speakers.push(hook.openid);
    showSpeakers(speakers);
    netWatch.update(s);
    showNetwork();
  }, STATS_MS);
}

// showNetwork shows a poor network beside the state, with its figures.
function showNetwork() {
  hook.network = netWatch.summary();
  showQuality($('#network'), hook.network);
}

function showSpeakers(speakers) {
  hook.speakers = speakers;
  for (const [id, tile] of tiles) tile.speaking = speakers.includes(id);
}

// teardown drops everything of the session but the error shown.
function teardown() {
  clearInterval(statsTimer);
  statsTimer = null;
  netWatch.reset();
  showNetwork();
  if (localStream) localStream.getTracks().forEach((t) => t.stop());
  localStream = null;
  client = null;
  if (hook.state !== 'error') setState('left');
  hook.speakers = [];
  hook.videoMembers = [];
  showVideoHint();
  setMembers([]);
  for (const a of audios.values()) { a.srcObject = null; a.remove(); }
  audios.clear();
  streams.clear();
  $('#count').textContent = '';
  $('#empty').hidden = false;
}

$('#join-form').addEventListener('submit', (ev) => { ev.preventDefault(); join(); });
$('#mute').addEventListener('click', () => setMute({ muteMicrophone: !hook.muteConfig.muteMicrophone }));
$('#deafen').addEventListener('click', () => setMute({ muteEarphone: !hook.muteConfig.muteEarphone }));
$('#leave').addEventListener('click', leave);
window.addEventListener('voipd-device', (ev) => trackSwitch(switchDevice(ev.detail.kind)));
// A language switch (i18n.js) re-applied the static text; the rest is
// written again from the page's state.
window.addEventListener('voipd-lang', () => {
  tileWords();
  setState(hook.state);
  renderMute();
  if (hook.lastError) $('#error .words').textContent = reasonWords(hook.lastError.reason);
  showHelp();
  showCameraRefused();
  showNetwork();
});
setState('idle');
if (query.get('autojoin') === '1') join();
