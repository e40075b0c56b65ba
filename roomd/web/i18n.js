// i18n.js: every string the page shows, in English and Chinese, and the
// choice between them (issue 20). The language is, in order: the URL's
// ?lang=en|zh, the visitor's earlier choice with the page's switch (kept in
// localStorage), the browser's languages (the first Chinese or English
// one), English.
//
// Static text in index.html carries data-i18n="key" (its text),
// data-i18n-title or data-i18n-label (its title or aria-label); app.js and
// call.js ask t() for what they write. Changing the language re-applies
// the static text and dispatches 'voipd-lang' on window for the rest.
//
// What the room server says in words of its own (an error's message) is
// shown as it came, beside the reason's words from here.

export const strings = {
  en: {
    title: 'voipd room',
    'lang.other': '中文',
    'lang.switch': 'Switch the page to Chinese',
    'state.idle': 'Not connected',
    'state.joining': 'Connecting…',
    'state.joined': 'In the room',
    'state.reconnecting': 'Reconnecting…',
    'state.error': 'Not connected: error',
    'state.left': 'Left the room',
    'state.reconnectingTitle': 'The connection to the room server was lost: getting back into the room',
    'form.group': 'Group',
    'form.you': 'You',
    'join.voice': 'Join with microphone',
    'join.video': 'Join with camera and microphone',
    'videoHint.text': 'Members here send video, which a voice member does not receive:',
    'videoHint.link': 'join with camera and video',
    'error.heading': 'Could not stay in the room',
    noCamera: "No camera found: you joined with voice only, and still see the others' video.",
    cameraRefused: "The camera is not allowed: you joined with voice only, and still see the others' video.",
    members: 'Members',
    empty: 'Not in a room.',
    'mute.on': 'Mute microphone',
    'mute.off': 'Unmute microphone',
    'deafen.on': 'Mute speaker',
    'deafen.off': 'Unmute speaker',
    leave: 'Leave',
    'call.heading': 'Call',
    'call.to': 'Call openid',
    'call.type': 'Type',
    'call.voice': 'voice',
    'call.video': 'video',
    'call.button': 'Call',
    hangup: 'Hang up',
    'incoming.isCalling': 'is calling',
    accept: 'Answer',
    decline: 'Decline',
    'accept.video': 'Answer with video',
    'accept.voice': 'Answer with voice',
    'incoming.video': 'Video call',
    'incoming.voice': 'Voice call',
    'call.dialing': 'Calling…',
    'call.ringingOut': 'Ringing…',
    'call.duration': 'Call duration {time}',
    'call.youDeclined': 'you declined',
    'call.youCancelled': 'you cancelled',
    cancel: 'Cancel',
    'network.poor': 'Poor connection',
    'tile.muted': 'muted',
    'tile.me': 'me',
    'devices.heading': 'Devices',
    'devices.camera': 'Camera',
    'devices.microphone': 'Microphone',
    'devices.speaker': 'Speaker',
    'devices.default': 'Default',
    'devices.unnamed': 'Device {n}',
    'devices.failed.camera': 'Could not switch to the chosen camera: {reason}',
    'devices.failed.microphone': 'Could not switch to the chosen microphone: {reason}',
    'network.detail': '{loss} % of packets lost, round trip {rtt} ms',
    'callState.idle': 'No call',
    'callState.ringing': 'Ringing',
    'callState.calling': 'Calling…',
    'callState.inCall': 'In a call',
    'callState.reconnecting': 'Reconnecting…',
    'callState.ended': 'Call ended',
    'callState.endedBecause': 'Call ended: {reason}',
    'reason.signature': 'the join was not signed correctly',
    'reason.timestamp': "the link's time is outside the allowed window",
    'reason.replay': 'the link was used before',
    'reason.unreachable': 'cannot reach the room server',
    'reason.timeout': 'the room server did not answer in time',
    'reason.room_full': 'the room is full',
    'reason.not_in_room': 'not in the room',
    'reason.scope': 'not allowed to use the microphone or camera here',
    'reason.absent': 'no microphone or camera found',
    'reason.permission': 'the browser may not use the microphone or camera',
    'reason.busy': 'the device is in use by another application',
    'reason.disabled': 'video is not available here',
    'reason.params': 'the link lacks something it needs',
    'reason.internal': 'something went wrong',
    'reason.interrupted': 'interrupted',
    'reason.declined': 'declined',
    'reason.no_answer': 'not answered',
    'reason.offline': 'the other side is offline',
    'reason.listener_busy': 'the other side is busy',
    'reason.remote': 'the other side hung up',
    'reason.local': 'you hung up',
    'reason.network': 'the connection was lost',
    'reason.device': 'the microphone or camera stopped working',
    'reason.shutdown': 'the room server is shutting down',
    'help.permission.chromium': 'To allow it: click the icon at the left of the address bar, set Microphone (and Camera) to Allow, then join again.',
    'help.permission.firefox': 'To allow it: click the crossed-out microphone in the address bar, clear the block, then join again.',
    'help.permission.safari-ios': 'To allow it: open Settings › Safari › Microphone (and Camera), choose Allow, then reload this page.',
    'help.permission.safari': 'To allow it: choose Safari › Settings for This Website, set Microphone (and Camera) to Allow, then reload this page.',
    'help.permission.wechat': "To allow it: open the phone's Settings › WeChat, turn on Microphone (and Camera), then reopen this page.",
    'help.permission.other': "To allow it: allow this site the microphone (and camera) in the browser's site settings, then join again.",
  },
  zh: {
    title: 'voipd 房间',
    'lang.other': 'English',
    'lang.switch': '将页面切换为英文',
    'state.idle': '未连接',
    'state.joining': '正在连接…',
    'state.joined': '已在房间中',
    'state.reconnecting': '正在重新连接…',
    'state.error': '未连接：出错',
    'state.left': '已离开房间',
    'state.reconnectingTitle': '与房间服务器的连接已中断，正在重新进入房间',
    'form.group': '群组',
    'form.you': '我的 ID',
    'join.voice': '使用麦克风加入',
    'join.video': '使用摄像头和麦克风加入',
    'videoHint.text': '这里的成员正在发送视频，仅语音的成员收不到：',
    'videoHint.link': '使用摄像头加入并接收视频',
    'error.heading': '无法留在房间中',
    noCamera: '未找到摄像头：你已仅用语音加入，仍可看到其他成员的视频。',
    cameraRefused: '摄像头未获允许：你已仅用语音加入，仍可看到其他成员的视频。',
    members: '成员',
    empty: '不在房间中。',
    'mute.on': '关闭麦克风',
    'mute.off': '打开麦克风',
    'deafen.on': '关闭扬声器',
    'deafen.off': '打开扬声器',
    leave: '离开',
    'call.heading': '通话',
    'call.to': '呼叫的 openid',
    'call.type': '类型',
    'call.voice': '语音',
    'call.video': '视频',
    'call.button': '呼叫',
    hangup: '挂断',
    'incoming.isCalling': '来电',
    accept: '接听',
    decline: '拒绝',
    'accept.video': '视频接听',
    'accept.voice': '语音接听',
    'incoming.video': '视频通话',
    'incoming.voice': '语音通话',
    'call.dialing': '正在呼叫…',
    'call.ringingOut': '对方响铃中…',
    'call.duration': '通话时长 {time}',
    'call.youDeclined': '你已拒绝',
    'call.youCancelled': '你已取消',
    cancel: '取消',
    'network.poor': '网络较差',
    'tile.muted': '已静音',
    'tile.me': '我',
    'devices.heading': '设备',
    'devices.camera': '摄像头',
    'devices.microphone': '麦克风',
    'devices.speaker': '扬声器',
    'devices.default': '默认',
    'devices.unnamed': '设备 {n}',
    'devices.failed.camera': '无法切换到所选摄像头：{reason}',
    'devices.failed.microphone': '无法切换到所选麦克风：{reason}',
    'network.detail': '丢包 {loss}%，往返 {rtt} 毫秒',
    'callState.idle': '无通话',
    'callState.ringing': '来电中',
    'callState.calling': '正在呼叫…',
    'callState.inCall': '通话中',
    'callState.reconnecting': '正在重新连接…',
    'callState.ended': '通话已结束',
    'callState.endedBecause': '通话已结束：{reason}',
    'reason.signature': '加入请求的签名无效',
    'reason.timestamp': '链接的时间已超出允许范围',
    'reason.replay': '该链接已被使用过',
    'reason.unreachable': '无法连接房间服务器',
    'reason.timeout': '房间服务器未及时响应',
    'reason.room_full': '房间已满',
    'reason.not_in_room': '不在房间中',
    'reason.scope': '无权在此使用麦克风或摄像头',
    'reason.absent': '未找到麦克风或摄像头',
    'reason.permission': '浏览器无权使用麦克风或摄像头',
    'reason.busy': '设备正被其他应用占用',
    'reason.disabled': '此处不提供视频',
    'reason.params': '链接缺少必要的参数',
    'reason.internal': '发生内部错误',
    'reason.interrupted': '已被中断',
    'reason.declined': '对方已拒绝',
    'reason.no_answer': '无人接听',
    'reason.offline': '对方不在线',
    'reason.listener_busy': '对方忙',
    'reason.remote': '对方已挂断',
    'reason.local': '你已挂断',
    'reason.network': '网络连接已中断',
    'reason.device': '麦克风或摄像头无法使用',
    'reason.shutdown': '房间服务器正在关闭',
    'help.permission.chromium': '如需允许：点击地址栏左侧的图标，将麦克风（和摄像头）设为“允许”，然后重新加入。',
    'help.permission.firefox': '如需允许：点击地址栏中被划掉的麦克风图标，解除阻止，然后重新加入。',
    'help.permission.safari-ios': '如需允许：打开“设置 › Safari 浏览器 › 麦克风（和摄像头）”，选择“允许”，然后重新载入本页。',
    'help.permission.safari': '如需允许：选择“Safari 浏览器 › 此网站的设置”，将麦克风（和摄像头）设为“允许”，然后重新载入本页。',
    'help.permission.wechat': '如需允许：打开手机的“设置 › 微信”，开启麦克风（和摄像头），然后重新打开本页。',
    'help.permission.other': '如需允许：在浏览器的网站设置中允许本站使用麦克风（和摄像头），然后重新加入。',
  },
};

// htmlLang is each language's BCP 47 tag for <html lang>.
const htmlLang = { en: 'en', zh: 'zh-CN' };

const STORE = 'voipd.lang';

// pick is the language the page starts in.
function pick() {
  const q = new URLSearchParams(location.search).get('lang');
  if (q && strings[q]) return q;
  try {
    const kept = localStorage.getItem(STORE);
    if (kept && strings[kept]) return kept;
  } catch { /* storage refused: the browser's languages decide */ }
  for (const l of navigator.languages || [navigator.language || '']) {
    const base = l.toLowerCase().split('-')[0];
    if (strings[base]) return base;
  }
  return 'en';
}

export let lang = pick();

// t is key's string in the page's language, with {name} replaced from
// vars; a key missing there falls back to English, then to the key itself
// (the tests fail on either).
export function t(key, vars) {
  let s = strings[lang][key] ?? strings.en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// reasonWords says a reason word of the control API in the page's language;
// a word it does not know is shown as it is.
export function reasonWords(reason) {
  return strings[lang]['reason.' + reason] ?? reason;
}

// browserKind names the browser at hand for advice that differs between
// them (where a refused permission is given back).
export function browserKind(ua = navigator.userAgent) {
  if (/MicroMessenger/i.test(ua)) return 'wechat';
  if (/Firefox\//.test(ua)) return 'firefox';
  if (/(iPhone|iPad|iPod).*AppleWebKit/.test(ua) && !/(CriOS|FxiOS|EdgiOS)/.test(ua)) return 'safari-ios';
  if (/Chrome\/|Chromium\/|CriOS\/|Edg\//.test(ua)) return 'chromium';
  if (/Safari\//.test(ua)) return 'safari';
  return 'other';
}

// apply writes the static text under root.
export function apply(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  document.documentElement.lang = htmlLang[lang];
  document.title = t('title');
  // The switch names the other language in that language.
  const other = document.querySelector('#lang [data-i18n="lang.other"]');
  if (other) other.lang = htmlLang[lang === 'en' ? 'zh' : 'en'];
}

// setLang switches the page's language and keeps the choice.
export function setLang(l) {
  if (!strings[l] || l === lang) return;
  lang = l;
  try { localStorage.setItem(STORE, l); } catch { /* kept for this page only */ }
  apply();
  window.dispatchEvent(new Event('voipd-lang'));
}

apply();
const sw = document.querySelector('#lang');
if (sw) sw.addEventListener('click', () => setLang(lang === 'en' ? 'zh' : 'en'));
