// call.js: two-party calls in the browser client (proto/call.go). With
// ?openid=X&enable1v1=1 the page keeps a presence connection, so it can be
// called as X: an incoming call shows the caller's name with Answer and
// Decline. The call form rings another openid. An accepted call is joined as
// its private room (kind "1v1", a one-time ticket) with its own RoomClient,
// beside the group room of app.js.
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
//   registered   whether the presence holds
//   callMembers  the call room's members
//   call(openid, roomType), answer(accept), hangup()
//   stats()      the call room's while in a call, else the group room's

import { RoomClient } from './room-client.js';
import { t, reasonWords } from './i18n.js';

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
  registered: false,
  callMembers: [],
  call: (openid, roomType) => placeCall(openid, roomType),
  answer: (accept) => answer(accept),
  hangup: () => hangup(),
  stats: () => (room ? room.stats() : groupStats()),
});

let presence = null;   // presence WebSocket
let callWS = null;     // the caller's socket while it rings
let callId = null;     // the current call's id
let room = null;       // RoomClient of the call room
let localStream = null;
let peerSeen = false;  // the other side was in the room at some point
let peerWait = null;   // timer: the call ends unless the other side is back by then
let appId = '';        // from the last signature: the call room's join names it

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
      callId = msg.callId;
      hook.incoming = { callId: msg.callId, caller: msg.caller, roomType: msg.roomType || 'voice' };
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

async function placeCall(listener, roomType = 'voice') {
  if (hook.callState !== 'idle' && hook.callState !== 'ended') return;
  const caller = self();
  hook.lastCallEnd = null;
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
  }, (msg) => {
    if (msg.type === 'ringing') callId = msg.callId;
    else if (msg.type === 'accepted') { callWS = null; enterRoom(msg); }
    else if (msg.type === 'callEnded' || msg.type === 'error') { callWS = null; end(msg.reason); }
  });
  callWS = ws;
  ws.onclose = () => { if (callWS === ws) { callWS = null; end('network'); } };
}

function answer(accept) {
  if (hook.callState !== 'ringing' || !presence) return;
  presence.send(JSON.stringify({ type: 'callAnswer', callId, accept: !!accept }));
  if (!accept) end('local');
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
      return end('local');
    case 'inCall': case 'reconnecting': return end('local');
  }
}

// enterRoom joins the call room with this side's ticket.
async function enterRoom(acc) {
  const roomType = acc.roomType === 'video' ? 'video' : 'voice';
  hook.incoming = null;
  try {
    const video = roomType === 'video' ? { width: 640, height: 480 } : false;
    localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video });
  } catch (e) {
    return end('device');
  }
  const openid = self();
  peerSeen = false;
  room = new RoomClient({
    wsURL: wsURL(), creds: {}, openid, groupId: acc.roomId, roomType,
    joinMsg: { type: 'join', kind: '1v1', appId, openid, roomId: acc.roomId, ticket: acc.ticket, roomType },
  });
  const r = room;
  r.addEventListener('state', (ev) => {
    if (ev.detail.state === 'joined') setCallState('inCall');
    else if (ev.detail.state === 'reconnecting') setCallState('reconnecting');
  });
  r.addEventListener('members', (ev) => {
    hook.callMembers = ev.detail.members;
    $('#call-peer').textContent = ev.detail.members.filter((m) => m !== openid).join(', ');
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

function playStream(member, stream) {
  let a = $('#call-audio').querySelector(`audio[data-member="${CSS.escape(member)}"]`);
  if (!a) {
    a = document.createElement('audio');
    a.autoplay = true;
    a.dataset.member = member;
    $('#call-audio').append(a);
  }
  if (a.srcObject !== stream) a.srcObject = stream;
  a.play().catch((e) => console.warn('call audio did not start:', e.message));
  const v = $('#call-video');
  if (stream.getVideoTracks().length && v.srcObject !== stream) { v.srcObject = stream; v.hidden = false; }
}

// end finishes the call in any state, leaving the room if in it.
function end(reason) {
  if (hook.callState === 'idle' || hook.callState === 'ended') return;
  if (room) { room.leave(); room = null; }
  clearTimeout(peerWait);
  peerWait = null;
  if (localStream) localStream.getTracks().forEach((t) => t.stop());
  localStream = null;
  for (const a of $('#call-audio').querySelectorAll('audio')) { a.srcObject = null; a.remove(); }
  $('#call-video').srcObject = null;
  $('#call-video').hidden = true;
  callId = null;
  hook.incoming = null;
  hook.callMembers = [];
  hook.lastCallEnd = { reason: reason || 'internal' };
  setCallState('ended');
}

function setCallState(state) {
  hook.callState = state;
  const el = $('#call-state');
  el.textContent = state === 'ended' && hook.lastCallEnd
    ? t('callState.endedBecause', { reason: reasonWords(hook.lastCallEnd.reason) })
    : t('callState.' + state);
  el.dataset.state = state;
  const inc = hook.incoming;
  $('#incoming').hidden = state !== 'ringing';
  if (inc) {
    $('#incoming .caller').textContent = inc.caller.nickname || inc.caller.openid;
    $('#incoming .type').textContent = t(inc.roomType === 'video' ? 'call.video' : 'call.voice');
  }
  $('#call-button').disabled = !(state === 'idle' || state === 'ended');
  $('#hangup').disabled = !(state === 'calling' || state === 'inCall' || state === 'ringing' || state === 'reconnecting');
  if (state !== 'inCall' && state !== 'reconnecting') $('#call-peer').textContent = '';
}

$('#call-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const to = $('#call-to').value.trim();
  if (to) placeCall(to, $('#call-type').value);
});
$('#accept').addEventListener('click', () => answer(true));
$('#decline').addEventListener('click', () => answer(false));
$('#hangup').addEventListener('click', hangup);
// A language switch (i18n.js): the call's state in the new words.
window.addEventListener('voipd-lang', () => setCallState(hook.callState));
setCallState('idle');
if (query.get('enable1v1') === '1') register();
