// room-client.js: the browser side of the room protocol (proto/proto.go).
//
// One WebSocket carries the signalling, one RTCPeerConnection the media:
// together a link. The server always offers, also to renegotiate when
// members come and go, so this side only ever answers: no glare handling is
// needed. Offers and candidates are applied strictly in arrival order through
// one promise queue per link, because a candidate for a transceiver that an
// offer still being applied creates would otherwise be rejected.
//
// States, and the only moves between them (MOVES):
//   idle → joining           join()
//   joining → joined         the server's joined
//   joined → reconnecting    the link was lost: the socket closed, the media
//                            connection failed, or the server said shutdown
//                            (or another reason worth coming back from); or
//                            only the media failed: an ICE restart on the link
//   reconnecting → joined    back in the seat, the media connection up again
//   any but left/error → left   leave()
//   any but left/error → error  a refusal, a lost link without a resume
//                            ticket, a refused resume, or the grace ran out
//
// Reconnecting (group rooms and call rooms): every joined carries a resume
// ticket and how long the server keeps the seat (graceMs). When the link is
// lost the client closes it and opens new ones, 200 ms later and then with a
// doubling delay up to 500 ms (as the Go room client, room/reconnect.go),
// each joining with the ticket instead of a signature and answering the
// server's new offer with the same local tracks on a new RTCPeerConnection,
// until one is back (its video subscription, if set, is restated), the
// server refuses the seat (error "resume", or "duplicate" when a newer join of
// the same member took it: the room ends with it), or the
// grace runs out (error "unreachable"). The members stay as they were
// meanwhile; the old link's remote tracks end, and new ones arrive as track
// events. The ticket is a credential: it is kept here and never logged.
//
// Events (CustomEvent, detail in braces):
//   state        {state}                idle | joining | joined | reconnecting | left | error
//   members      {members}              the server's list, on every change
//   track        {member, stream, kind} a member's audio or video arrived
//                                       (stream id = openid; one stream per member;
//                                       after a reconnect a new stream)
//   videomembers {members}              who publishes video now (video rooms)
//   error        {reason, message}      reason is a word from proto's Reason* list
//
// A video room (roomType "video") also sends the stream's camera track on the
// server's recvonly video section and receives the video of the members its
// subscription selects (subscribeVideo; by default the first two other
// joiners when there are more than two).

const JOIN_TIMEOUT_MS = 15000; // as long as voipd's default join timeout
const PING_MS = 20000;         // keeps NATs and proxies from idling out

// Reconnect timing (room/reconnect.go): the first attempt soon after the
// loss (a blip, or a restarting server that listens again in a moment), then
// more slowly, but often enough to be back within about half a second of the
// server answering again.
const RECONNECT_FIRST_MS = 200;
const RECONNECT_MAX_MS = 500;

// ICE restart (room/restart.go): when only the media connection failed and
// the socket is open, the client asks the server for an ICE restart on the
// same link, and answers its offer on the same RTCPeerConnection (tracks
// and streams stay). No offer within RESTART_OFFER_MS: the socket is taken
// for dead too and the link replaced as above. A restart that fails again
// is followed by another, RESTART_GAP_MS later, within the grace.
const RESTART_OFFER_MS = 2000;
const RESTART_GAP_MS = 500;

// A media connection still disconnected DISCONNECTED_RESTART_MS after it
// said so is restarted the same way, without waiting for the browser to
// call it failed (about 30 s in Chromium): a path that died with its
// network interface (a new address, Wi-Fi to cellular) never comes back.
// The server counts its grace from its own media timeout (30 s by default,
// about EARLY_RESTART_MS after such a restart), so the restart's deadline
// does too.
const DISCONNECTED_RESTART_MS = 5000;
const EARLY_RESTART_MS = 20000;

// The reasons a lost link is worth coming back from: the connection or the
// media dropped, the server is restarting, or it failed. A server that ended
// the member (duplicate, kicked, a refused resume) is not.
const RECONNECTABLE = new Set(['unreachable', 'shutdown', 'timeout', 'internal']);

const MOVES = {
  idle: ['joining', 'left'],
  joining: ['joined', 'left', 'error'],
  joined: ['reconnecting', 'left', 'error'],
  reconnecting: ['joined', 'left', 'error'],
  left: [],
  error: [],
};

export class RoomClient extends EventTarget {
  // joinMsg, when given, is sent instead of the group join (a call room's
  // ticket join, call.js).
  constructor({ wsURL, creds, openid, groupId, muteConfig, roomType, joinMsg }) {
    super();
    this.joinMsg = joinMsg || null;
    this.wsURL = wsURL;
    this.creds = creds;
    this.openid = openid;
    this.groupId = groupId;
    this.muteConfig = { muteMicrophone: false, muteEarphone: false, ...muteConfig };
    this.roomType = roomType === 'video' ? 'video' : 'voice';
    this.videoMembers = [];
    this.state = 'idle';
    this.members = [];
    this.lastError = null;
    this.link = null;            // the current link (connect), or null between attempts
    this.track = null;           // our microphone track
    this.camera = null;          // our camera track (video rooms)
    this.receiverMember = new Map(); // RTCRtpReceiver -> member openid, of the current link
    this.timers = [];
    this.graceMs = 0;            // how long the server keeps the seat, from the last joined
    this.subscription = null;    // the last subscribeVideo list, restated after a reconnect
    this.ticket = null;          // resume ticket of the last joined: never log it
    this.retry = null;           // the reconnect under way: {deadline, delay, cause, timer}
    this.lk = null;              // the room on LiveKit, when a gateway sent the join there (livekit-link.js)
  }

  // The current link's socket and peer connection (null between attempts).
  get ws() { return this.link ? this.link.ws : null; }
  get pc() { return this.link ? this.link.pc : null; }

  // join connects and sends the join; stream is the microphone's, and in a
  // video room the camera's too.
  join(stream) {
    this.track = stream.getAudioTracks()[0] || null;
    this.camera = this.roomType === 'video' ? stream.getVideoTracks()[0] || null : null;
    this.stream = stream;
    if (!this.setState('joining')) return;
    this.connect(() => this.joinMsg || {
      type: 'join', kind: 'voip', appId: this.creds.appId, openid: this.openid,
      groupId: this.groupId, nonceStr: this.creds.nonceStr,
      timeStamp: Number(this.creds.timeStamp), signature: this.creds.signature,
      roomType: this.roomType, muteConfig: this.muteConfig,
    });
    this.timers.push(setTimeout(() => {
      if (this.state === 'joining') this.fail('timeout', 'the room server did not answer the join');
    }, JOIN_TIMEOUT_MS));
    this.timers.push(setInterval(() => this.send({ type: 'ping' }), PING_MS));
  }

  // connect makes a new link, the current one, whose socket sends first()
  // when open (made then, so that it carries the mute as it is then).
  // Everything a link's socket and peer connection report is ignored once it
  // is no longer the current link.
  connect(first) {
    const link = {
      ws: null,
      pc: null,               // made on joined (openPeer)
      queue: Promise.resolve(), // its offers and candidates, in order (enqueue)
      pending: [],            // candidates that arrived before an offer
      sender: null,           // the RTCRtpSender our microphone goes out on
      videoSender: null,      // and our camera's
      timer: null,            // a reconnect attempt's deadline
      iceRestart: false,      // the server restarts ICE on request (its joined said so)
      restartTimer: null,     // an ICE restart's wait for the server's offer
    };
    this.link = link;
    this.receiverMember.clear();
    const ws = new WebSocket(this.wsURL);
    link.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify(first()));
    ws.onmessage = (ev) => {
      if (this.link !== link) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) {
        return this.lost(link, 'internal', 'bad message from the server');
      }
      this.handle(link, msg);
    };
    ws.onclose = (ev) => this.lost(link, 'unreachable',
      `connection to the room server closed (code ${ev.code})`);
    return link;
  }

  // resumeMsg is the join back into the seat: the ticket in place of the
  // signature (or of a call room's spent call ticket).
  resumeMsg() {
    const call = this.joinMsg && this.joinMsg.kind === '1v1';
    const where = call
      ? { kind: '1v1', appId: this.joinMsg.appId, roomId: this.joinMsg.roomId }
      : { kind: 'voip', appId: this.creds.appId, groupId: this.groupId };
    return {
      type: 'join', ...where, openid: this.openid, roomType: this.roomType,
      resume: this.ticket, muteConfig: this.muteConfig,
    };
  }

  // canResume reports whether this session can come back to its seat: the
  // server gave a ticket and a grace, and this client knows the join for it.
  canResume() {
    return !!this.ticket && this.graceMs > 0 && (!this.joinMsg || this.joinMsg.kind === '1v1');
  }

  handle(link, msg) {
    switch (msg.type) {
      case 'joined':
        if (this.state !== 'joining' && this.state !== 'reconnecting') break;
        this.ticket = msg.resume || null;
        this.graceMs = msg.graceMs || 0;
        link.iceRestart = !!msg.iceRestart;
        this.openPeer(link, msg.iceServers || []);
        if (this.state === 'joining') {
          this.setState('joined');
        } else if (this.subscription) {
          // Back in the seat: "joined" waits for the media (openPeer), as
          // the Go client's reconnect does. A seat the server kept kept its
          // subscription too, but one in a room re-created after a restart
          // has none.
          this.send({ type: 'subscribe', openIdList: this.subscription });
        }
        this.setMembers(msg.members || []);
        break;
      case 'members':
        this.setMembers(msg.members || []);
        break;
      case 'videoMembers':
        this.videoMembers = msg.members || [];
        this.emit('videomembers', { members: this.videoMembers });
        break;
      case 'offer':
        clearTimeout(link.restartTimer); // an ICE restart's, if one is asked
        link.restartTimer = null;
        this.enqueue(link, () => this.answer(link, msg.sdp));
        break;
      case 'candidate':
        this.enqueue(link, () => this.addCandidate(link, msg.candidate));
        break;
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'pong':
        break;
      case 'livekit':
        // A gateway: the room is on LiveKit (livekit-link.js).
        this.toLiveKit(link, msg);
        break;
      case 'error':
        this.lost(link, msg.reason || 'internal', msg.message || '');
        break;
      default:
        console.warn('room: unknown message type', msg.type);
    }
  }

  // toLiveKit joins the LiveKit room a gateway sent the join (or a
  // reconnect's resume join) to; the gateway's socket is done. The
  // gateway's ticket and grace are kept for coming back.
  async toLiveKit(link, msg) {
    if (this.state !== 'joining' && this.state !== 'reconnecting') return;
    const rejoin = this.state === 'reconnecting';
    clearTimeout(link.timer);
    if (link.ws) {
      link.ws.onclose = null;
      link.ws.close();
    }
    if (this.link === link) this.link = null;
    this.ticket = msg.resume || null;
    this.graceMs = msg.graceMs || 0;
    let lk = null;
    try {
      const { LiveKitLink } = await import('./livekit-link.js');
      if (this.state !== 'joining' && this.state !== 'reconnecting') return;
      lk = new LiveKitLink(this, msg, { rejoin });
      this.lk = lk;
      await lk.connect();
    } catch (e) {
      if (lk) lk.close();
      if (this.lk === lk) this.lk = null;
      if (rejoin && this.state === 'reconnecting' && this.retry) {
        return this.nextAttempt('unreachable', `LiveKit: ${e.message}`);
      }
      return this.fail('unreachable', `LiveKit: ${e.message}`);
    }
    if (this.lk !== lk) return; // left meanwhile
    if (this.state === 'joining') {
      this.setState('joined');
    } else if (this.state === 'reconnecting') {
      if (this.retry) clearTimeout(this.retry.timer);
      this.retry = null;
      this.setState('joined');
    }
  }

  // lkReconnecting: LiveKit's client lost its connection and tries to get
  // it back by itself; lkReconnected: it did.
  lkReconnecting(lk) {
    if (lk !== this.lk || this.state !== 'joined') return;
    this.retry = {
      deadline: Date.now() + this.graceMs, delay: RECONNECT_FIRST_MS, timer: null, lkOwn: true,
      cause: { reason: 'unreachable', message: 'the connection to LiveKit was lost' },
    };
    this.setState('reconnecting');
  }

  lkReconnected(lk) {
    if (lk !== this.lk || this.state !== 'reconnecting' || !this.retry || !this.retry.lkOwn) return;
    this.retry = null;
    this.setState('joined');
  }

  // lkLost: LiveKit's client gave up, LiveKit ended the session, or its
  // media went silent (reason "media"). Unless LiveKit ended the member for
  // good, the page comes back as from a lost link to roomd: the gateway
  // again, with the resume ticket.
  async lkLost(lk, reason, message) {
    if (lk !== this.lk) return;
    this.lk = null;
    lk.close();
    const { finalReason } = await import('./livekit-link.js');
    const final = finalReason(reason);
    if (!final && this.canResume()) {
      if (this.state === 'joined') return this.reconnect('unreachable', message);
      if (this.state === 'reconnecting' && this.retry && this.retry.lkOwn) {
        this.retry.lkOwn = false;
        this.retry.cause = { reason: 'unreachable', message };
        return this.schedule();
      }
    }
    this.fail(final || 'unreachable', message);
  }

  openPeer(link, iceServers) {
    const pc = new RTCPeerConnection({ iceServers });
    link.pc = pc;
    pc.onicecandidate = (ev) => {
      // A null candidate only marks the end of gathering; the protocol has no
      // message for it and the server does not need one.
      if (this.link === link && ev.candidate && ev.candidate.candidate) {
        this.send({ type: 'candidate', candidate: ev.candidate.toJSON() });
      }
    };
    pc.ontrack = (ev) => {
      const stream = ev.streams[0];
      if (!stream || this.link !== link) return; // the server always names the sender's stream
      this.receiverMember.set(ev.receiver, stream.id);
      this.emit('track', { member: stream.id, stream, kind: ev.track.kind });
    };
    pc.onconnectionstatechange = () => {
      if (this.link !== link) return;
      if (pc.connectionState === 'connected' && this.state === 'reconnecting') {
        this.back(link);
      } else if (pc.connectionState === 'disconnected') {
        clearTimeout(link.disconnectedTimer);
        link.disconnectedTimer = setTimeout(() => {
          link.disconnectedTimer = null;
          if (this.link !== link || pc.connectionState !== 'disconnected' || this.state !== 'joined') return;
          if (this.canRestartIce(link)) this.restartIce(link, 'no media from the room server', EARLY_RESTART_MS);
        }, DISCONNECTED_RESTART_MS);
      } else if (pc.connectionState === 'failed') {
        if (this.canRestartIce(link)) {
          this.restartIce(link);
        } else {
          this.lost(link, 'unreachable', 'the media connection failed');
        }
      }
    };
  }

  // canRestartIce reports whether link's failed media connection is worth
  // an ICE restart on it: the server restarts ICE, keeps the seat, and the
  // socket is open; in a reconnect only a restart's own link.
  canRestartIce(link) {
    if (!link.iceRestart || !this.canResume() || !link.ws || link.ws.readyState !== WebSocket.OPEN) return false;
    return this.state === 'joined' || (this.state === 'reconnecting' && !!this.retry && this.retry.restart);
  }

  // restartIce asks the server for an ICE restart on link: at once when
  // its media just failed (or stayed disconnected: message says which,
  // early how long before the server's media timeout), RESTART_GAP_MS
  // later when a restart's did.
  restartIce(link, message = 'the media connection failed', early = 0) {
    if (this.state === 'joined') {
      console.warn(`room: ${message}; restarting ICE`);
      this.retry = {
        deadline: Date.now() + this.graceMs + early, delay: RECONNECT_FIRST_MS,
        cause: { reason: 'unreachable', message }, timer: null, restart: true,
      };
      this.setState('reconnecting');
      this.askRestart(link);
      return;
    }
    this.retry.timer = setTimeout(() => this.askRestart(link), RESTART_GAP_MS);
  }

  askRestart(link) {
    const r = this.retry;
    if (this.link !== link || this.state !== 'reconnecting' || !r || !r.restart) return;
    r.timer = null;
    if (Date.now() >= r.deadline) {
      return this.fail('unreachable', "the media connection did not come back within the server's grace");
    }
    link.restartTimer = setTimeout(() => {
      link.restartTimer = null;
      this.lost(link, 'unreachable', 'the room server did not answer an ICE restart');
    }, RESTART_OFFER_MS);
    this.send({ type: 'iceRestart' });
  }

  // lost handles the end of link: a joined session with a ticket starts
  // reconnecting when the reason is worth it, an attempt that failed so
  // makes way for the next, and anything else ends the session.
  lost(link, reason, message) {
    if (this.link !== link) return; // an old link's late news
    if (RECONNECTABLE.has(reason) && this.canResume()) {
      if (this.state === 'joined') return this.reconnect(reason, message);
      if (this.state === 'reconnecting') return this.nextAttempt(reason, message);
    }
    this.fail(reason, message);
  }

  // reconnect starts getting back into the seat after the current link was
  // lost; the server keeps the seat for graceMs from about now.
  reconnect(reason, message) {
    console.warn(`room: connection lost (${reason}: ${message}); reconnecting`);
    this.dropLink();
    this.retry = {
      deadline: Date.now() + this.graceMs, delay: RECONNECT_FIRST_MS,
      cause: { reason, message }, timer: null,
    };
    this.setState('reconnecting');
    this.schedule();
  }

  nextAttempt(reason, message) {
    clearTimeout(this.retry.timer); // an ICE restart's next ask, if one is due
    this.retry.restart = false;      // from now on new links
    this.retry.cause = { reason, message };
    this.dropLink();
    this.schedule();
  }

  schedule() {
    const r = this.retry;
    r.timer = setTimeout(() => this.attempt(), r.delay);
    r.delay = Math.min(2 * r.delay, RECONNECT_MAX_MS);
  }

  // attempt makes a new link that joins with the ticket; it is back when
  // its media connection is up (back), and fails on its socket's close, on
  // an error from the server, or when it takes longer than the join timeout
  // or the rest of the grace.
  attempt() {
    const r = this.retry;
    if (this.state !== 'reconnecting' || !r) return;
    r.timer = null;
    const left = r.deadline - Date.now();
    if (left <= 0) {
      return this.fail('unreachable',
        `not back in the room within the server's grace of ${this.graceMs / 1000} s: ${r.cause.message}`);
    }
    const link = this.connect(() => this.resumeMsg());
    link.timer = setTimeout(() => this.lost(link, 'timeout', 'the room server did not take the member back in time'),
      Math.min(JOIN_TIMEOUT_MS, left));
  }

  back(link) {
    clearTimeout(link.timer);
    link.timer = null;
    if (this.retry) clearTimeout(this.retry.timer);
    this.retry = null;
    this.setState('joined');
  }

  async answer(link, sdp) {
    const pc = link.pc;
    if (!pc || this.link !== link) return;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    if (!link.sender && this.track) link.sender = await this.attachLocal(pc, 'audio', this.track, sdp);
    if (!link.videoSender && this.camera) link.videoSender = await this.attachLocal(pc, 'video', this.camera, sdp);
    await pc.setLocalDescription(await pc.createAnswer());
    if (this.link !== link) return;
    this.send({ type: 'answer', sdp: pc.localDescription.sdp });
    await this.applyMute(link);
    const waiting = link.pending;
    link.pending = [];
    for (const c of waiting) await this.addCandidate(link, c);
  }

  // attachLocal puts our track of kind on the transceiver the server
  // offered to receive that kind on (direction recvonly or sendrecv in its
  // offer) and returns its sender, or null when the offer has none (a video
  // room that gives this member no video section). The server's sendonly
  // transceivers carry other members and must stay ours to receive on.
  // Changing direction needs no extra round trip: the answer being made
  // says sendonly/sendrecv for that m-line.
  async attachLocal(pc, kind, track, sdp) {
    const mid = receivingMid(sdp, kind);
    if (mid === null) return null;
    const tr = pc.getTransceivers().find((t) => t.mid === mid);
    if (!tr) return null;
    await tr.sender.replaceTrack(track);
    if (tr.sender.setStreams) tr.sender.setStreams(this.stream);
    tr.direction = 'sendrecv';
    return tr.sender;
  }

  // replaceTrack sends track (a microphone or camera the visitor chose) in
  // place of the one of its kind sent now, without renegotiating: the
  // sender keeps its parameters (a muted microphone stays muted). A
  // reconnect sends the new one too.
  async replaceTrack(track) {
    const video = track.kind === 'video';
    if (video) this.camera = track;
    else this.track = track;
    if (this.lk) return this.lk.replaceTrack(track);
    const link = this.link;
    const sender = link && (video ? link.videoSender : link.sender);
    if (sender) await sender.replaceTrack(track);
  }

  // sending says which devices the senders carry now: {microphone,
  // camera}, each {deviceId, label} or absent.
  sending() {
    const out = {};
    const link = this.link;
    const tracks = this.lk ? this.lk.sendingTracks()
      : [link && link.sender && link.sender.track, link && link.videoSender && link.videoSender.track];
    for (const tr of tracks) {
      if (!tr) continue;
      out[tr.kind === 'video' ? 'camera' : 'microphone'] = { deviceId: tr.getSettings().deviceId || '', label: tr.label };
    }
    return out;
  }

  // subscribeVideo sets whose video this member receives (an empty list:
  // none); the server renegotiates.
  subscribeVideo(list) {
    this.subscription = [...list];
    this.send({ type: 'subscribe', openIdList: this.subscription });
  }

  async addCandidate(link, c) {
    if (!link.pc || !link.pc.remoteDescription) {
      link.pending.push(c);
      return;
    }
    try {
      await link.pc.addIceCandidate(c);
    } catch (e) {
      // One bad candidate must not end the session; others may work.
      console.warn('room: candidate rejected:', e.message);
    }
  }

  // setMute changes what we send and tells the server, so the others see it.
  // While reconnecting the next resume join carries it (and an attempt
  // whose join is already sent gets the mute after it).
  setMute(muteConfig) {
    this.muteConfig = { ...this.muteConfig, ...muteConfig };
    if (this.state === 'joined' || this.state === 'reconnecting') {
      this.send({ type: 'mute', muteConfig: this.muteConfig });
    }
    const link = this.link;
    if (link) this.enqueue(link, () => this.applyMute(link));
    if (this.lk) this.lk.setMute(this.muteConfig).catch((e) => console.warn('room: LiveKit mute:', e.message));
  }

  // applyMute deactivates the encoding rather than disabling the track: a
  // disabled track still sends 50 packets a second of silence, while an
  // inactive encoding sends nothing, as voipd's own sender does for a muted
  // microphone (media/pipeline, AudioSender.SetMuted).
  async applyMute(link) {
    const s = link.sender;
    if (!s) return;
    const params = s.getParameters();
    if (!params.encodings || params.encodings.length === 0) return; // not negotiated yet
    const active = !this.muteConfig.muteMicrophone;
    if (params.encodings.every((e) => e.active === active)) return;
    params.encodings.forEach((e) => { e.active = active; });
    await s.setParameters(params);
  }

  // stats reads the statistics into the shape of window.voipd.stats(): one
  // inbound audio entry per current member, one inbound video entry per
  // member whose video is received, our outbound audio and video and our
  // microphone's level. Inbound stats are read per receiver, because the
  // receiver is what ontrack tied to a member: track ids in the SDP need not
  // be unique (roomd names every forwarded track "audio"). When a member's
  // SSRC changed, the stream that received last counts. Every field is a
  // number from the inbound-rtp report, 0 when the browser omits it (app.js
  // lists them).
  async stats() {
    const out = {
      inboundAudio: [],
      outboundAudio: { packetsSent: 0, bytesSent: 0 },
      localAudioLevel: 0,
      inboundVideo: [],
      outboundVideo: { framesEncoded: 0, packetsSent: 0 },
      network: { rtt: 0, sendLoss: 0 },
    };
    const pc = this.pc;
    if (!this.lk && (!pc || pc.signalingState === 'closed')) return out;
    const byMember = new Map();
    const videoByMember = new Map();
    for (const [receiver, member] of this.receiverMember) {
      if (!this.members.includes(member)) continue;
      const report = await receiver.getStats();
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const last = s.lastPacketReceivedTimestamp || 0;
        if (s.kind === 'video') {
          const prev = videoByMember.get(member);
          if (prev && prev.lastPacketReceivedTimestamp >= last) return;
          videoByMember.set(member, {
            member,
            framesDecoded: s.framesDecoded || 0,
            frameWidth: s.frameWidth || 0,
            frameHeight: s.frameHeight || 0,
            packetsReceived: s.packetsReceived || 0,
            // What loss did to the picture, to set beside the daemon's
            // getStats under the same loss.
            framesReceived: s.framesReceived || 0,
            framesDropped: s.framesDropped || 0,
            freezeCount: s.freezeCount || 0,
            totalFreezesDuration: s.totalFreezesDuration || 0,
            pauseCount: s.pauseCount || 0,
            totalPausesDuration: s.totalPausesDuration || 0,
            packetsLost: s.packetsLost || 0,
            nackCount: s.nackCount || 0,
            pliCount: s.pliCount || 0,
            keyFramesDecoded: s.keyFramesDecoded || 0,
            lastPacketReceivedTimestamp: last,
          });
          return;
        }
        if (s.kind !== 'audio') return;
        const prev = byMember.get(member);
        if (prev && prev.lastPacketReceivedTimestamp >= last) return;
        byMember.set(member, {
          member,
          packetsReceived: s.packetsReceived || 0,
          bytesReceived: s.bytesReceived || 0,
          packetsLost: s.packetsLost || 0,
          jitter: s.jitter || 0,
          audioLevel: s.audioLevel || 0,
          totalAudioEnergy: s.totalAudioEnergy || 0,
          // What the jitter buffer did about loss and jitter (samples at
          // the decoder's rate, events as counts), to set beside the
          // daemon's getStats under the same loss.
          totalSamplesReceived: s.totalSamplesReceived || 0,
          concealedSamples: s.concealedSamples || 0,
          silentConcealedSamples: s.silentConcealedSamples || 0,
          concealmentEvents: s.concealmentEvents || 0,
          insertedSamplesForDeceleration: s.insertedSamplesForDeceleration || 0,
          removedSamplesForAcceleration: s.removedSamplesForAcceleration || 0,
          fecPacketsReceived: s.fecPacketsReceived || 0,
          lastPacketReceivedTimestamp: last,
        });
      });
    }
    out.inboundAudio = [...byMember.values()];
    out.inboundVideo = [...videoByMember.values()];
    const reports = this.lk ? await this.lk.senderStats() : [await pc.getStats()];
    for (const r of reports) r.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = r.get(s.selectedCandidatePairId);
        if (pair) out.network.rtt = Math.max(out.network.rtt, pair.currentRoundTripTime || 0);
      } else if (s.type === 'remote-inbound-rtp') {
        // The far side's receiver report: the share of ours it lost.
        out.network.sendLoss = Math.max(out.network.sendLoss, s.fractionLost || 0);
      } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
        out.outboundAudio.packetsSent += s.packetsSent || 0;
        out.outboundAudio.bytesSent += s.bytesSent || 0;
      } else if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out.outboundVideo.framesEncoded += s.framesEncoded || 0;
        out.outboundVideo.packetsSent += s.packetsSent || 0;
      } else if (s.type === 'media-source' && s.kind === 'audio') {
        out.localAudioLevel = s.audioLevel || 0;
      }
    });
    return out;
  }

  // leave says goodbye and ends the session at once, also while
  // reconnecting (the goodbye reaches the server only on an open socket;
  // otherwise the seat goes when the grace runs out).
  leave() {
    if (this.state === 'left' || this.state === 'error') return;
    this.send({ type: 'leave' });
    this.close();
    this.setState('left');
  }

  fail(reason, message) {
    if (this.state === 'left' || this.state === 'error') return;
    this.lastError = { reason, message };
    this.close();
    this.setState('error');
    this.emit('error', this.lastError);
  }

  close() {
    if (this.lk) this.lk.close();
    this.timers.forEach((t) => { clearTimeout(t); clearInterval(t); });
    this.timers = [];
    if (this.retry) clearTimeout(this.retry.timer);
    this.retry = null;
    this.dropLink();
  }

  // dropLink closes the current link's socket and peer connection (whose
  // remote tracks end with it) and forgets it.
  dropLink() {
    const link = this.link;
    this.link = null;
    this.receiverMember.clear();
    if (!link) return;
    clearTimeout(link.timer);
    clearTimeout(link.restartTimer);
    if (link.ws) {
      link.ws.onclose = null;
      link.ws.close();
    }
    if (link.pc) link.pc.close();
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  // enqueue runs fn after link's earlier offers and candidates. A failure
  // loses the link (lost ignores one no longer current, such as a closed
  // link's late answer).
  enqueue(link, fn) {
    link.queue = link.queue.then(fn).catch((e) => {
      if (this.state === 'joined' || this.state === 'reconnecting') {
        this.lost(link, 'internal', `negotiation failed: ${e.message}`);
      }
    });
  }

  // setState moves to state if MOVES allows it and tells the listeners; it
  // reports whether it moved.
  setState(state) {
    if (!MOVES[this.state].includes(state)) {
      console.warn(`room: no move from ${this.state} to ${state}`);
      return false;
    }
    this.state = state;
    // Reconnecting says why ({reason, message}).
    this.emit('state', state === 'reconnecting' ? { state, cause: this.retry.cause } : { state });
    return true;
  }

  setMembers(members) {
    this.members = members;
    // A member who left keeps its (now inactive) receiver; forget it, so a
    // long session does not accumulate them. A rejoin's ontrack re-adds one.
    for (const [receiver, member] of this.receiverMember) {
      if (!members.includes(member)) this.receiverMember.delete(receiver);
    }
    this.emit('members', { members });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// receivingMid returns the mid of the first m-section of kind ("audio" or
// "video") in which the offerer can receive, or null when there is none.
export function receivingMid(sdp, kind) {
  for (const section of sdp.split(/\r?\n(?=m=)/)) {
    if (!section.startsWith('m=' + kind)) continue;
    const mid = /^a=mid:(\S+)/m.exec(section);
    const dir = /^a=(sendrecv|recvonly|sendonly|inactive)\s*$/m.exec(section);
    const direction = dir ? dir[1] : 'sendrecv'; // RFC 8866 §6.7: the default
    if (mid && (direction === 'recvonly' || direction === 'sendrecv')) return mid[1];
  }
  return null;
}
