// livekit-link.js: a RoomClient's room on LiveKit. A gateway (roomd in
// gateway mode; proto/README.md, "Gateway mode") answers a join with
// livekit {url, token}: the page then joins that LiveKit room with LiveKit's
// own browser client (npm's livekit-client, which the gateway serves at
// /vendor/livekit-client.umd.js and this module loads only then), as the
// same member, publishing the same microphone and camera tracks, and tells
// the RoomClient what it would learn from roomd: members, members' tracks
// (their receivers, for stats), video members, a lost session. LiveKit's
// client reconnects by itself when the network blips; a session it gives
// up ends the room ("unreachable").

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
  constructor(client, msg) {
    this.client = client;
    this.url = msg.url;
    this.token = msg.token; // a credential: never logged
    this.room = null;
    this.closed = false;
  }

  async connect() {
    const LK = await loadLiveKit();
    const c = this.client;
    const room = new LK.Room({ adaptiveStream: false, dynacast: false });
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
    room.on(E.Disconnected, (reason) => {
      if (!this.closed) c.fail('unreachable', `LiveKit ended the session (${reason})`);
    });
    await room.connect(this.url, this.token, { autoSubscribe: true });
    const lp = room.localParticipant;
    if (c.track) {
      await lp.publishTrack(c.track, { source: LK.Track.Source.Microphone, name: 'microphone' });
    }
    if (c.camera) {
      await lp.publishTrack(c.camera, { source: LK.Track.Source.Camera, name: 'camera' });
    }
    await this.setMute(c.muteConfig);
    this.members();
    this.videoMembers();
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
    if (this.room) this.room.disconnect();
  }
}
