// room-client.js: the browser side of the room protocol (proto/proto.go).
//
// One WebSocket carries the signalling, one RTCPeerConnection the media. The
// server always offers, also to renegotiate when members come and go, so this
// side only ever answers: no glare handling is needed. Offers and candidates
// are applied strictly in arrival order through one promise queue, because a
// candidate for a transceiver that an offer still being applied creates would
// otherwise be rejected.
//
// Events (CustomEvent, detail in braces):
//   state        {state}                idle | joining | joined | left | error
//   members      {members}              the server's list, on every change
//   track        {member, stream, kind} a member's audio or video arrived
//                                       (stream id = openid; one stream per member)
//   videomembers {members}              who publishes video now (video rooms)
//   error        {reason, message}      reason is a word from proto's Reason* list
//
// A video room (roomType "video") also sends the stream's camera track on the
// server's recvonly video section and receives the video of the members its
// subscription selects (subscribeVideo; by default the first two other
// joiners when there are more than two).

const JOIN_TIMEOUT_MS = 15000; // as long as voipd's default join timeout
const PING_MS = 20000;         // keeps NATs and proxies from idling out

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
    this.pc = null;
    this.ws = null;
    this.track = null;           // our microphone track
    this.sender = null;          // the RTCRtpSender it goes out on
    this.camera = null;          // our camera track (video rooms)
    this.videoSender = null;     // and its RTCRtpSender
    this.receiverMember = new Map(); // RTCRtpReceiver -> member openid
    this.pending = [];           // candidates that arrived before an offer
    this.queue = Promise.resolve();
    this.timers = [];
  }

  // join connects and sends the join; stream is the microphone's, and in a
  // video room the camera's too.
  join(stream) {
    this.track = stream.getAudioTracks()[0] || null;
    this.camera = this.roomType === 'video' ? stream.getVideoTracks()[0] || null : null;
    this.stream = stream;
    this.setState('joining');
    const ws = new WebSocket(this.wsURL);
    this.ws = ws;
    ws.onopen = () => this.send(this.joinMsg || {
      type: 'join', kind: 'voip', appId: this.creds.appId, openid: this.openid,
      groupId: this.groupId, nonceStr: this.creds.nonceStr,
      timeStamp: Number(this.creds.timeStamp), signature: this.creds.signature,
      roomType: this.roomType, muteConfig: this.muteConfig,
    });
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) {
        return this.fail('internal', 'bad message from the server');
      }
      this.handle(msg);
    };
    ws.onclose = (ev) => this.fail('unreachable',
      `connection to the room server closed (code ${ev.code})`);
    this.timers.push(setTimeout(() => {
      if (this.state === 'joining') this.fail('timeout', 'the room server did not answer the join');
    }, JOIN_TIMEOUT_MS));
    this.timers.push(setInterval(() => this.send({ type: 'ping' }), PING_MS));
  }

  handle(msg) {
    switch (msg.type) {
      case 'joined':
        this.openPeer(msg.iceServers || []);
        this.setState('joined');
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
        this.enqueue(() => this.answer(msg.sdp));
        break;
      case 'candidate':
        this.enqueue(() => this.addCandidate(msg.candidate));
        break;
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'pong':
        break;
      case 'error':
        this.fail(msg.reason || 'internal', msg.message || '');
        break;
      default:
        console.warn('room: unknown message type', msg.type);
    }
  }

  openPeer(iceServers) {
    const pc = new RTCPeerConnection({ iceServers });
    this.pc = pc;
    pc.onicecandidate = (ev) => {
      // A null candidate only marks the end of gathering; the protocol has no
      // message for it and the server does not need one.
      if (ev.candidate && ev.candidate.candidate) {
        this.send({ type: 'candidate', candidate: ev.candidate.toJSON() });
      }
    };
    pc.ontrack = (ev) => {
      const stream = ev.streams[0];
      if (!stream) return; // the server always names the sender's stream
      this.receiverMember.set(ev.receiver, stream.id);
      this.emit('track', { member: stream.id, stream, kind: ev.track.kind });
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'failed') {
        this.fail('unreachable', 'the media connection failed');
      }
    };
  }

  async answer(sdp) {
    const pc = this.pc;
    if (!pc) return;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    if (!this.sender && this.track) this.sender = await this.attachLocal('audio', this.track, sdp);
    if (!this.videoSender && this.camera) this.videoSender = await this.attachLocal('video', this.camera, sdp);
    await pc.setLocalDescription(await pc.createAnswer());
    this.send({ type: 'answer', sdp: pc.localDescription.sdp });
    await this.applyMute();
    const waiting = this.pending;
    this.pending = [];
    for (const c of waiting) await this.addCandidate(c);
  }

  // attachLocal puts our track of kind on the transceiver the server
  // offered to receive that kind on (direction recvonly or sendrecv in its
  // offer) and returns its sender, or null when the offer has none (a video
  // room that gives this member no video section). The server's sendonly
  // transceivers carry other members and must stay ours to receive on.
  // Changing direction needs no extra round trip: the answer being made
  // says sendonly/sendrecv for that m-line.
  async attachLocal(kind, track, sdp) {
    const mid = receivingMid(sdp, kind);
    if (mid === null) return null;
    const tr = this.pc.getTransceivers().find((t) => t.mid === mid);
    if (!tr) return null;
    await tr.sender.replaceTrack(track);
    if (tr.sender.setStreams) tr.sender.setStreams(this.stream);
    tr.direction = 'sendrecv';
    return tr.sender;
  }

  // subscribeVideo sets whose video this member receives (an empty list:
  // none); the server renegotiates.
  subscribeVideo(list) {
    this.send({ type: 'subscribe', openIdList: [...list] });
  }

  async addCandidate(c) {
    if (!this.pc || !this.pc.remoteDescription) {
      this.pending.push(c);
      return;
    }
    try {
      await this.pc.addIceCandidate(c);
    } catch (e) {
      // One bad candidate must not end the session; others may work.
      console.warn('room: candidate rejected:', e.message);
    }
  }

  // setMute changes what we send and tells the server, so the others see it.
  setMute(muteConfig) {
    this.muteConfig = { ...this.muteConfig, ...muteConfig };
    if (this.state === 'joined') this.send({ type: 'mute', muteConfig: this.muteConfig });
    this.enqueue(() => this.applyMute());
  }

  // applyMute deactivates the encoding rather than disabling the track: a
  // disabled track still sends 50 packets a second of silence, while an
  // inactive encoding sends nothing, as voipd's own sender does for a muted
  // microphone (media/pipeline, AudioSender.SetMuted).
  async applyMute() {
    const s = this.sender;
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
    };
    const pc = this.pc;
    if (!pc || pc.signalingState === 'closed') return out;
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
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'audio') {
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
    this.timers.forEach((t) => { clearTimeout(t); clearInterval(t); });
    this.timers = [];
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
    }
    if (this.pc) this.pc.close();
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  enqueue(fn) {
    this.queue = this.queue.then(fn).catch((e) => {
      if (this.state === 'joined') this.fail('internal', `negotiation failed: ${e.message}`);
    });
  }

  setState(state) {
    this.state = state;
    this.emit('state', { state });
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
