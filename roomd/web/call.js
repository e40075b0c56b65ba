// call.js: two-party calls in the browser client (proto/call.go). With
// ?openid=X&enable1v1=1 the page keeps a presence connection, so it can be
// called as X: an incoming call shows who calls (nickname, head image when
// the caller gave one), rings (ring.js), and offers answer with video (a
// video call), answer with voice, and decline. The call form rings another
// openid: the page shows whom it calls, plays the ring-back once the other
// side rings, and offers cancel. A running call shows its duration, the
// other side's picture with this side's own small and mirrored, and hang
// up; a call that ends says why in words. An accepted call is joined as its
// private room (kind "1v1", a one-time ticket) with its own RoomClient,
// beside the group room of app.js. Answered with voice, a video call is
// joined with the microphone alone: the other side's video still comes.
//
// Dev mode signs through /dev/sign: the presence as groupId "1v1:"+openid,
// a call as groupId "call:"+listener (the purposes roomd checks).
//
// An answered call whose connection to roomd drops (or whose roomd
// restarts) gets back into its call room by itself, as a group room does
// (room-client.js): callState "reconnecting", then "inCall" again. Back in
// a room roomd re-created after a restart, this side may be alone at first:
// the other side then has the server's grace to come back before the call
// ends (remote), as the daemon does (daemon/session, watchCallPeerBack).
//
// window.voipd gains (app.js made it; this module loads after):
//   callState    "idle" | "ringing" | "calling" | "inCall" | "reconnecting" | "ended"
//   lastCallEnd  null | {reason}: declined, no_answer, offline, listener_busy,
//                remote (the other side hung up or left), local, or a room error word
//   incoming     null | {callId, caller, roomType} while it rings here
//                (caller: {nickname, headImage?, openid})
//   outgoingRinging  true once the called side rings (the server said so)
//   registered   whether the presence holds
//   callMembers  the call room's members
//   callVideo    whether this side sends video in the call
//   callSeconds  the running call's duration, whole seconds (0 before)
//   callSending() the call room's senders' devices (as app.js's sending())
//   callNetwork  the call's network as netquality.js judges it (as app.js's network)
//   callMuted    whether this side's microphone is muted in the call
//                (setCallMute(bool); a new call starts unmuted)
//   call(openid, roomType, {ringTimeoutMs}?), answer(accept, "video"|"voice"?)
//                (answer(true) answers a video call with video), hangup()
//   stats()      the call room's while in a call, else the group room's
//   ringing, ringLevel()   ring.js

import { RoomClient } from './room-client.js';
import { t, reasonWords } from './i18n.js';
import { ring, stopRing } from './ring.js';
import { NetWatch, showQuality } from './netquality.js';
import { getMedia, mediaReason, refresh as refreshDevices, track as trackSwitch, sink, replaceIn, reportSwitch } from './devices.js';

const RETRY_MS = 2000; // presence reconnect delay: the daemon's re-register, in small
const PING_MS = 20000;

const $ = (sel) => document.querySelector(sel);
const query = new URLSearchParams(location.search);
const hook = window.voipd;
const groupStats = hook.stats;

Object.assign(hook, {
  callState: 'idle',
  lastCallEnd: null,
  incoming: null,
  outgoingRinging: false,
  registered: false,
  callMembers: [],
  callVideo: false,
  callSeconds: 0,
  callMuted: false,
  callNetwork: new NetWatch().summary(),
  call: (openid, roomType, opts) => placeCall(openid, roomType, opts),
  answer: (accept, how) => answer(accept, how),
  setCallMute: (m) => setCallMute(m),
  hangup: () => hangup(),
  stats: () => (room ? room.stats() : groupStats()),
  callSending: () => (room ? room.sending() : {}),
});

let presence = null;   // presence WebSocket
let callWS = null;     // the caller's socket while it rings
let callId = null;     // the current call's id
let room = null;       // RoomClient of the call room
let localStream = null;
let peerSeen = false;  // the other side was in the room at some point
let peerWait = null;   // timer: the call ends unless the other side is back by then
let appId = '';        // from the last signature: the call room's join names it
let peer = null;       // {nickname, headImage?, openid} of the other side
let inCallSince = 0;   // performance.now() when the call room was first joined
let durationTimer = null;
let netTimer = null;
const netWatch = new NetWatch();

const self = () => query.get('openid') || $('#openid').value.trim();
const wsURL = () => (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + '/ws';

// sign mints credentials for groupId (a purpose) from roomd's dev signer.
async function sign(openid, groupId) {
  const res = await fetch('/dev/sign?' + new URLSearchParams({ openid, groupId }));
  if (!res.ok) throw new Error(`/dev/sign answered HTTP ${res.status}`);
  return res.json();
}

function openSocket(first, onMessage) {
  const ws = new WebSocket(wsURL());
  ws.onopen = () => ws.send(JSON.stringify(first));
  ws.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (msg.type === 'ping') ws.send(JSON.stringify({ type: 'pong' }));
    else onMessage(msg);
  };
  const ping = setInterval(() => { if (ws.readyState === WebSocket.OPEN) ws.send('{"type":"ping"}'); }, PING_MS);
  ws.addEventListener('close', () => clearInterval(ping));
  return ws;
}

async function register() {
  const openid = self();
  let c;
  try {
    c = await sign(openid, '1v1:' + openid);
  } catch (e) {
    console.warn('call: cannot sign the presence:', e.message);
    return setTimeout(register, RETRY_MS);
  }
  appId = c.appId;
  const ws = openSocket({ type: 'register', appId: c.appId, openid, nonceStr: c.nonceStr,
    timeStamp: Number(c.timeStamp), signature: c.signature }, onPresence);
  presence = ws;
  ws.onclose = () => {
    hook.registered = false;
    if (presence === ws) setTimeout(register, RETRY_MS);
  };
}

function onPresence(msg) {
  switch (msg.type) {
    case 'registered':
      hook.registered = true;
      break;
    case 'invite':
      if (hook.callState !== 'idle' && hook.callState !== 'ended') break; // the server says busy first
      callId = msg.callId;
      peer = party(msg.caller);
      hook.incoming = { callId: msg.callId, caller: peer, roomType: msg.roomType === 'video' ? 'video' : 'voice' };
      hook.lastCallEnd = null;
      setCallState('ringing');
      break;
    case 'accepted':
      if (msg.callId === callId) enterRoom(msg);
      break;
    case 'callEnded':
      if (msg.callId === callId && hook.callState === 'ringing') end(msg.reason);
      break;
    case 'error':
      console.warn('call: presence refused:', msg.reason, msg.message);
      break;
  }
}

// party is a caller or listener as the server sent it, with only the
// fields shown, and a head image only as an http(s) or data: image URL.
function party(p) {
  const openid = String((p && p.openid) || '');
  const out = { nickname: String((p && p.nickname) || openid), openid };
  const img = p && typeof p.headImage === 'string' ? p.headImage : '';
  if (/^(https?:|data:image\/)/i.test(img)) out.headImage = img;
  return out;
}

async function placeCall(listener, roomType = 'voice', opts = {}) {
  if (hook.callState !== 'idle' && hook.callState !== 'ended') return;
  const caller = self();
  hook.lastCallEnd = null;
  hook.outgoingRinging = false;
  hook.callVideo = roomType === 'video';
  peer = party({ openid: listener, nickname: listener });
  setCallState('calling');
  let c;
  try {
    c = await sign(caller, 'call:' + listener);
  } catch (e) {
    return end('internal');
  }
  appId = c.appId;
  const ws = openSocket({
    type: 'call', appId: c.appId, nonceStr: c.nonceStr, timeStamp: Number(c.timeStamp), signature: c.signature,
    caller: { nickname: caller, openid: caller }, listener: { nickname: listener, openid: listener },
    roomType: roomType === 'video' ? 'video' : 'voice',
    ...(opts.ringTimeoutMs > 0 ? { ringTimeoutMs: Math.round(opts.ringTimeoutMs) } : {}),
  }, (msg) => {
    if (msg.type === 'ringing') {
      callId = msg.callId;
      hook.outgoingRinging = true;
      setCallState('calling');
    }
    else if (msg.type === 'accepted') { callWS = null; enterRoom(msg); }
    else if (msg.type === 'callEnded' || msg.type === 'error') { callWS = null; end(msg.reason); }
  });
  callWS = ws;
  ws.onclose = () => { if (callWS === ws) { callWS = null; end('network'); } };
}

// answer answers the call ringing here: how is "video" or "voice" (a video
// call answered with voice sends no picture; a voice call has no video to
// send), by default the call's own type.
function answer(accept, how) {
  if (hook.callState !== 'ringing' || !presence) return;
  const inc = hook.incoming;
  hook.callVideo = !!accept && inc.roomType === 'video' && how !== 'voice';
  presence.send(JSON.stringify({ type: 'callAnswer', callId, accept: !!accept }));
  if (!accept) end('declined_here');
  else {
    inc.answered = true; // the room's ticket is on its way: the answers go
    stopRing();
    setCallState('ringing');
  }
}

function hangup() {
  switch (hook.callState) {
    case 'ringing': return answer(false);
    case 'calling':
      if (callWS) {
        const ws = callWS;
        callWS = null;
        if (callId) ws.send(JSON.stringify({ type: 'hangup', callId }));
        ws.close();
      }
      return end('cancelled_here');
    case 'inCall': case 'reconnecting': return end('local');
  }
}

// enterRoom joins the call room with this side's ticket.
async function enterRoom(acc) {
  const roomType = acc.roomType === 'video' ? 'video' : 'voice';
  hook.incoming = null;
  stopRing();
  try {
    localStream = await callMedia(roomType === 'video' && hook.callVideo);
  } catch (e) {
    return end('device');
  }
  hook.callVideo = localStream.getVideoTracks().length > 0;
  const own = $('#call-self');
  own.srcObject = hook.callVideo ? localStream : null;
  own.hidden = !hook.callVideo;
  const openid = self();
  peerSeen = false;
  room = new RoomClient({
    wsURL: wsURL(), creds: {}, openid, groupId: acc.roomId, roomType,
    joinMsg: { type: 'join', kind: '1v1', appId, openid, roomId: acc.roomId, ticket: acc.ticket, roomType },
  });
  const r = room;
  r.addEventListener('state', (ev) => {
    if (ev.detail.state === 'joined') {
      if (!inCallSince) startDuration();
      setCallState('inCall');
    }
    if (ev.detail.state === 'reconnecting') {
      netWatch.reset(); // no media meanwhile: judged afresh when back
      showNetwork();
      setCallState('reconnecting');
    }
  });
  r.addEventListener('members', (ev) => {
    hook.callMembers = ev.detail.members;
    if (ev.detail.members.length > 1) {
      peerSeen = true;
      clearTimeout(peerWait);
      peerWait = null;
    } else if (peerSeen && r.state === 'reconnecting' && r.graceMs > 0) {
      // Back in a re-created room before the other side: wait for it.
      if (!peerWait) {
        peerWait = setTimeout(() => {
          peerWait = null;
          if (room === r && hook.callMembers.length < 2) end('remote');
        }, r.graceMs);
      }
    } else if (peerSeen) {
      end('remote'); // the other side left: the call is over
    }
  });
  room.addEventListener('track', (ev) => playStream(ev.detail.member, ev.detail.stream));
  room.addEventListener('error', (ev) => end(ev.detail.reason));
  room.join(localStream);
}

// callMedia asks for the microphone, and the camera when video: a camera
// that is absent or refused leaves the call with voice, as a group room does.
async function callMedia(video) {
  let stream = null;
  if (video) {
    try {
      stream = await getMedia(true, { width: 640, height: 480 });
    } catch (e) {
      console.warn('call: no camera, answering with voice:', e.message);
    }
  }
  stream = stream || await getMedia(true, false);
  refreshDevices(); // the browser names its devices now
  return stream;
}

// switchDevice sends from the microphone or camera just chosen
// (devices.js) while in the call, as app.js does in a group room.
async function switchDevice(kind) {
  const r = room;
  if (!r || !localStream || (hook.callState !== 'inCall' && hook.callState !== 'reconnecting')) return;
  if (kind === 'camera' && !localStream.getVideoTracks().length) return;
  let next;
  try {
    const s = await (kind === 'camera' ? getMedia(false, { width: 640, height: 480 }) : getMedia(true, false));
    next = s.getTracks()[0];
  } catch (e) {
    reportSwitch(kind, mediaReason(e));
    console.warn('call: device switch:', kind, e.message);
    return;
  }
  if (room !== r || !localStream) { next.stop(); return; }
  reportSwitch(kind, null);
  replaceIn(localStream, next);
  await r.replaceTrack(next);
}

function setCallMute(muted) {
  hook.callMuted = !!muted;
  if (room) room.setMute({ muteMicrophone: hook.callMuted, muteEarphone: false });
  renderMute();
}

function renderMute() {
  const b = $('#call-mute');
  b.setAttribute('aria-pressed', String(hook.callMuted));
  b.dataset.i18n = hook.callMuted ? 'mute.off' : 'mute.on';
  b.textContent = t(b.dataset.i18n);
}

// showNetwork shows the call's network in its card.
function showNetwork() {
  hook.callNetwork = netWatch.summary();
  showQuality($('#call-network'), hook.callNetwork);
}

function startDuration() {
  inCallSince = performance.now();
  clearInterval(netTimer);
  netTimer = setInterval(async () => {
    const r = room;
    if (!r || hook.callState !== 'inCall') return;
    const s = await r.stats().catch(() => null);
    if (!s || room !== r || hook.callState !== 'inCall') return;
    netWatch.update(s);
    showNetwork();
  }, 500);
  hook.callSeconds = 0;
  clearInterval(durationTimer);
  durationTimer = setInterval(() => {
    hook.callSeconds = Math.floor((performance.now() - inCallSince) / 1000);
    renderDuration();
  }, 1000);
  renderDuration();
}

// clock is seconds as m:ss, or h:mm:ss from an hour on.
export function clock(sec) {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = String(sec % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

function renderDuration() {
  const el = $('#call-duration');
  el.textContent = clock(hook.callSeconds);
  el.setAttribute('aria-label', t('call.duration', { time: clock(hook.callSeconds) }));
}

function playStream(member, stream) {
  let a = $('#call-audio').querySelector(`audio[data-member="${CSS.escape(member)}"]`);
  if (!a) {
    a = document.createElement('audio');
    a.autoplay = true;
    a.dataset.member = member;
    $('#call-audio').append(a);
    sink(a);
  }
  if (a.srcObject !== stream) a.srcObject = stream;
  a.play().catch((e) => console.warn('call audio did not start:', e.message));
  const v = $('#call-video');
  if (stream.getVideoTracks().length && v.srcObject !== stream) { v.srcObject = stream; v.hidden = false; }
  // A video track added to the stream later (the other side switched).
  stream.onaddtrack = () => { if (stream.getVideoTracks().length) { v.srcObject = stream; v.hidden = false; } };
}

// end finishes the call in any state, leaving the room if in it.
function end(reason) {
  if (hook.callState === 'idle' || hook.callState === 'ended') return;
  if (room) { room.leave(); room = null; }
  stopRing();
  clearTimeout(peerWait);
  peerWait = null;
  clearInterval(durationTimer);
  durationTimer = null;
  clearInterval(netTimer);
  netTimer = null;
  netWatch.reset();
  showNetwork();
  inCallSince = 0;
  hook.callMuted = false;
  renderMute();
  if (localStream) localStream.getTracks().forEach((t) => t.stop());
  localStream = null;
  for (const a of $('#call-audio').querySelectorAll('audio')) { a.srcObject = null; a.remove(); }
  for (const v of ['#call-video', '#call-self']) { $(v).srcObject = null; $(v).hidden = true; }
  callId = null;
  hook.incoming = null;
  hook.outgoingRinging = false;
  hook.callMembers = [];
  // Declined or cancelled here is "local" to the control API, said in
  // words of its own.
  endedHere = LOCAL_ENDS[reason] || null;
  hook.lastCallEnd = { reason: endedHere ? 'local' : (reason || 'internal') };
  setCallState('ended');
}

const LOCAL_ENDS = { declined_here: 'call.youDeclined', cancelled_here: 'call.youCancelled' };
let endedHere = null; // LOCAL_ENDS' key for the last end, when it was one

// showParty fills an avatar and a name from p: the head image where one
// was given and loads, else the name's first letter.
function showParty(root, p) {
  const img = root.querySelector('.avatar img');
  const initial = root.querySelector('.avatar .initial');
  const name = p ? p.nickname || p.openid : '';
  initial.textContent = name ? Array.from(name)[0].toUpperCase() : '';
  initial.hidden = false;
  img.hidden = true;
  img.onload = null;
  img.removeAttribute('src');
  if (p && p.headImage) {
    img.onload = () => { img.hidden = false; initial.hidden = true; };
    img.src = p.headImage;
  }
}

let shownIncoming = null; // the call whose ringing box has focus already

function setCallState(state) {
  const was = hook.callState;
  hook.callState = state;
  const el = $('#call-state');
  el.textContent = state === 'ended' && hook.lastCallEnd
    ? t('callState.endedBecause', { reason: endedHere ? t(endedHere) : reasonWords(hook.lastCallEnd.reason) })
    : t('callState.' + state);
  el.dataset.state = state;

  // Ringing here, not yet answered: who calls, and the answers.
  const inc = hook.incoming;
  const asking = state === 'ringing' && !!inc && !inc.answered;
  $('#incoming').hidden = !asking;
  // The ringing box is modal: the rest of the page is out of reach (and out
  // of a screen reader's way) until it is answered.
  for (const el of [$('header'), ...$('main').children]) {
    if (el !== $('#call')) el.inert = asking;
  }
  for (const el of $('#call').children) {
    if (el !== $('#incoming')) el.inert = asking;
  }
  if (inc) {
    const box = $('#incoming');
    showParty(box, inc.caller);
    box.querySelector('.caller').textContent = inc.caller.nickname || inc.caller.openid;
    const video = inc.roomType === 'video';
    box.querySelector('.type').textContent = t(video ? 'incoming.video' : 'incoming.voice');
    $('#accept-video').hidden = !video;
    $('#accept').textContent = t(video ? 'accept.voice' : 'accept');
    if (asking && shownIncoming !== inc.callId) {
      shownIncoming = inc.callId;
      ring('incoming');
      // The answer is one key away: focus goes to the box's first answer.
      (video ? $('#accept-video') : $('#accept')).focus();
    }
  }
  if (state === 'calling' && hook.outgoingRinging) ring('outgoing');
  if (state !== 'ringing' && state !== 'calling') stopRing();

  // Placing or in a call: the card with who, how long, and hang up.
  const active = state === 'calling' || state === 'inCall' || state === 'reconnecting';
  // style.css reads it: a call outside a group room takes the page.
  document.body.dataset.call = active || state === 'ringing' ? 'active' : '';
  $('#call-card').hidden = !active;
  $('#call-mute').hidden = state === 'calling';
  $('#call-form').hidden = active || state === 'ringing';
  if (active && peer) {
    showParty($('#call-card'), peer);
    $('#call-peer').textContent = peer.nickname || peer.openid;
  } else if (!active) {
    $('#call-peer').textContent = '';
  }
  $('#call-detail').textContent = state === 'calling'
    ? t(hook.outgoingRinging ? 'call.ringingOut' : 'call.dialing')
    : state === 'reconnecting' ? t('callState.reconnecting') : '';
  $('#call-duration').hidden = !(state === 'inCall' || state === 'reconnecting');
  if (!$('#call-duration').hidden) renderDuration();
  const hang = $('#hangup');
  hang.dataset.i18n = state === 'calling' ? 'cancel' : 'hangup';
  hang.textContent = t(hang.dataset.i18n);
  hang.disabled = !active;
  $('#call-button').disabled = !(state === 'idle' || state === 'ended');
  if (was === 'ringing' && state !== 'ringing') shownIncoming = null;
}


$('#call-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const to = $('#call-to').value.trim();
  if (to) placeCall(to, $('#call-type').value);
});
$('#accept').addEventListener('click', () => answer(true, 'voice'));
$('#accept-video').addEventListener('click', () => answer(true, 'video'));
$('#decline').addEventListener('click', () => answer(false));
$('#hangup').addEventListener('click', hangup);
$('#call-mute').addEventListener('click', () => setCallMute(!hook.callMuted));
window.addEventListener('voipd-device', (ev) => trackSwitch(switchDevice(ev.detail.kind)));
// A language switch (i18n.js): the call's state in the new words.
window.addEventListener('voipd-lang', () => { setCallState(hook.callState); showNetwork(); });
stopRing();
setCallState('idle');
if (query.get('enable1v1') === '1') register();
