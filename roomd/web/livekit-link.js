// livekit-link.js: a RoomClient's room on LiveKit. A gateway (roomd in
// gateway mode; proto/README.md, "Gateway mode") answers a join with
// livekit {url, token}: the page then joins that LiveKit room with LiveKit's
// own browser client (npm's livekit-client, which the gateway serves at
// /vendor/livekit-client.umd.js and this module loads only then), as the
// same member, publishing the same microphone and camera tracks, and tells
// the RoomClient what it would learn from roomd: members, members' tracks
// (their receivers, for stats), video members, a lost session. LiveKit's
// client tries twice by itself to get a dropped connection back (a network
// blip); when it gives up (its node died, say), the RoomClient asks the
// gateway again with the resume ticket and joins the room again where
// LiveKit now hosts it (room-client.js, toLiveKit), as voipd does
// (room/lk/reconnect.go).

// LiveKit's own reconnect: two tries, then the gateway's.
const OWN_RETRIES_MS = [0, 300];
const ownReconnect = {
  nextRetryDelayInMs: (ctx) => (ctx.retryCount < OWN_RETRIES_MS.length ? OWN_RETRIES_MS[ctx.retryCount] : null),
};

// A rejoin's wait for LiveKit to take the WebSocket: LiveKit answers only
// once the room's node has taken the member, and a dead node keeps it
// waiting until LiveKit counts the node out (up to 5 s); a new try asks
// LiveKit to place the room again.
const REJOIN_ANSWER_MS = 1000;

// A media connection that has received nothing — not even LiveKit's RTCP
// and keepalives, which arrive about every second also when no member
// speaks — for MEDIA_SILENT_MS is lost: a node that dies takes its rooms'
// media with it while the node carrying the signalling says nothing, and
// Chromium itself calls the connection lost only after about 18 s. Checked
// every MEDIA_CHECK_MS while LiveKit's client says it is connected.
const MEDIA_SILENT_MS = 3000;
const MEDIA_CHECK_MS = 500;

// LiveKit's DisconnectReasons that end the member for good: replaced by a
// newer join of the same identity, removed, or the room deleted or closed.
const FINAL = new Map([[2, 'duplicate'], [4, 'kicked'], [5, 'kicked'], [10, 'kicked']]);
export function finalReason(reason) { return FINAL.get(reason) || null; }

let loading = null;

function loadLiveKit() {
  if (window.LivekitClient) return Promise.resolve(window.LivekitClient);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/vendor/livekit-client.umd.js';
      s.onload = () => (window.LivekitClient ? resolve(window.LivekitClient)
        : reject(new Error('LiveKit\'s client did not load')));
      s.onerror = () => reject(new Error('this room server has no LiveKit client (/vendor/livekit-client.umd.js)'));
      document.head.appendChild(s);
    });
  }
  return loading;
}

export class LiveKitLink {
  // rejoin: a reconnect's join (REJOIN_ANSWER_MS).
  constructor(client, msg, { rejoin = false } = {}) {
    this.client = client;
    this.url = msg.url;
    this.token = msg.token; // a credential: never logged
    this.rejoin = rejoin;
    this.room = null;
    this.closed = false;
    this.up = false; // connected: from then on its losses are the RoomClient's
    this.watch = null; // the media watch's interval
  }

  async connect() {
    const LK = await loadLiveKit();
    const c = this.client;
    const room = new LK.Room({ adaptiveStream: false, dynacast: false, reconnectPolicy: ownReconnect });
    this.room = room;
    const E = LK.RoomEvent;
    room.on(E.ParticipantConnected, () => this.members());
    room.on(E.ParticipantDisconnected, () => { this.members(); this.videoMembers(); });
    room.on(E.TrackPublished, () => this.videoMembers());
    room.on(E.TrackUnpublished, () => this.videoMembers());
    room.on(E.TrackSubscribed, (track, pub, p) => {
      if (this.closed) return;
      if (track.receiver) c.receiverMember.set(track.receiver, p.identity);
      const stream = new MediaStream([track.mediaStreamTrack]);
      c.emit('track', { member: p.identity, stream, kind: track.kind });
    });
    room.on(E.TrackUnsubscribed, (track) => {
      if (track.receiver) c.receiverMember.delete(track.receiver);
    });
    room.on(E.Reconnecting, () => { if (!this.closed && this.up) c.lkReconnecting(this); });
    room.on(E.Reconnected, () => { if (!this.closed && this.up) c.lkReconnected(this); });
    room.on(E.Disconnected, (reason) => {
      if (!this.closed && this.up) c.lkLost(this, reason, `LiveKit ended the session (reason ${reason})`);
    });
    const opts = { autoSubscribe: true };
    if (this.rejoin) Object.assign(opts, { maxRetries: 0, websocketTimeout: REJOIN_ANSWER_MS });
    await room.connect(this.url, this.token, opts);
    const lp = room.localParticipant;
    if (c.track) {
      await lp.publishTrack(c.track, { source: LK.Track.Source.Microphone, name: 'microphone' });
    }
    if (c.camera) {
      await lp.publishTrack(c.camera, { source: LK.Track.Source.Camera, name: 'camera' });
    }
    await this.setMute(c.muteConfig);
    this.up = true;
    this.watch = setInterval(() => this.checkMedia(), MEDIA_CHECK_MS);
    this.members();
    this.videoMembers();
  }

  // checkMedia reports the session lost when its media connection has
  // received nothing for MEDIA_SILENT_MS (the last packet of the selected
  // candidate pair of one of its senders' or receivers' transport).
  async checkMedia() {
    const room = this.room;
    if (this.closed || !room || room.state !== 'connected') return;
    const rtp = [...room.localParticipant.trackPublications.values()].map((p) => p.track && p.track.sender);
    for (const p of room.remoteParticipants.values()) {
      for (const pub of p.trackPublications.values()) rtp.push(pub.track && pub.track.receiver);
    }
    const one = rtp.find((x) => x);
    if (!one) return;
    // The transport's selected pair (its state turns "in-progress" while
    // its consent checks go unanswered: the state says nothing here).
    const stats = await one.getStats();
    let pair = null;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId) || pair;
    });
    const silent = pair && pair.lastPacketReceivedTimestamp ? pair.timestamp - pair.lastPacketReceivedTimestamp : null;
    if (silent !== null && silent > MEDIA_SILENT_MS && !this.closed && room.state === 'connected') {
      this.client.lkLost(this, 'media', `no media from LiveKit for ${Math.round(silent / 100) / 10} s`);
    }
  }

  // members: the remote participants and this page's member.
  members() {
    if (!this.room || this.closed) return;
    const ids = [...this.room.remoteParticipants.values()].map((p) => p.identity);
    ids.push(this.room.localParticipant.identity);
    this.client.setMembers(ids);
  }

  // videoMembers: who publishes a camera.
  videoMembers() {
    if (!this.room || this.closed) return;
    const all = [this.room.localParticipant, ...this.room.remoteParticipants.values()];
    const list = all.filter((p) => [...p.trackPublications.values()].some((t) => t.kind === 'video'))
      .map((p) => p.identity);
    this.client.videoMembers = list;
    this.client.emit('videomembers', { members: list });
  }

  // replaceTrack sends track in place of our published track of its kind.
  async replaceTrack(track) {
    const room = this.room;
    if (!room) return;
    const LK = await loadLiveKit();
    const source = track.kind === 'video' ? LK.Track.Source.Camera : LK.Track.Source.Microphone;
    const pub = room.localParticipant.getTrackPublication(source);
    if (pub && pub.track) await pub.track.replaceTrack(track, { userProvidedTrack: true });
  }

  // sendingTracks: the MediaStreamTracks our publications send now.
  sendingTracks() {
    const room = this.room;
    if (!room) return [];
    return [...room.localParticipant.trackPublications.values()].map((p) => p.track && p.track.mediaStreamTrack).filter(Boolean);
  }

  // setMute mutes or unmutes our microphone's publication (LiveKit tells
  // the others).
  async setMute(muteConfig) {
    if (!this.room) return;
    for (const pub of this.room.localParticipant.trackPublications.values()) {
      if (pub.kind !== 'audio' || !pub.track) continue;
      if (muteConfig.muteMicrophone) await pub.mute();
      else await pub.unmute();
    }
  }

  // senderStats: the stats reports of our published tracks' senders.
  async senderStats() {
    const out = [];
    if (!this.room) return out;
    for (const pub of this.room.localParticipant.trackPublications.values()) {
      const sender = pub.track && pub.track.sender;
      if (sender) out.push(await sender.getStats());
    }
    return out;
  }

  close() {
    this.closed = true;
    clearInterval(this.watch);
    if (this.room) this.room.disconnect();
  }
}
