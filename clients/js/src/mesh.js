import { Emitter } from './emitter.js';

/**
 * MeshCall is the WebRTC layer: one RTCPeerConnection per room-mate, set up
 * through a RedRTCClient with perfect negotiation (W3C WebRTC 1.0, section
 * 10.7), trickle ICE, and an ICE restart when a connection fails.
 *
 * Roles: of two peers, the one with the greater client id is polite (it
 * yields when both offer at once). Who starts: the later joiner offers to
 * everyone already in the room; the others wait for its offer, so a join
 * costs one round trip, and glare (both renegotiating at once, ICE restarts
 * on both sides) is resolved by the roles.
 */
export class MeshCall extends Emitter {
  /** Map of peer client id → {pc, stream, state, polite}. */
  peers = new Map();
  /** The stream sent to every peer, or null. */
  localStream = null;

  #client;
  #options;
  #offs = [];

  /**
   * @param {import('./client.js').RedRTCClient} client
   * @param {object} [options] {localStream, iceServers, rtcConfig}
   */
  constructor(client, options = {}) {
    super();
    this.#client = client;
    this.#options = options;
    this.localStream = options.localStream ?? null;
    const on = (event, fn) => this.#offs.push(client.on(event, fn));
    on('room-joined', (d) => this.#sync(d.participants, true));
    on('participants', (d) => this.#sync(d.participants, false));
    on('room-left', () => this.#closeAll());
    // Media flows peer to peer: a dropped signaling socket leaves the peer
    // connections up, and a resumed session carries on with them. Only a
    // client that will not come back, or comes back as a new client (its
    // resume failed), hangs up.
    on('close', ({ willReconnect }) => {
      if (!willReconnect) this.#closeAll();
    });
    on('open', ({ reconnected, resumed }) => {
      if (reconnected && !resumed) this.#closeAll();
    });
    on('resumed', (d) => this.#onResumed(d));
    on('offer', (d) => this.#onDescription(d.fromClientId, d.offer));
    on('answer', (d) => this.#onDescription(d.fromClientId, d.answer));
    on('ice-candidate', (d) => this.#onCandidate(d.fromClientId, d.candidate));
  }

  /** Joins the room through the client; resolves with the room-joined data. */
  join(roomId, options) {
    return this.#client.join(roomId, options);
  }

  /** Leaves the room and hangs up on every peer. */
  async leave() {
    this.#closeAll();
    if (this.#client.roomId !== null) await this.#client.leave();
  }

  /** Hangs up and stops listening to the client (which stays open). */
  close() {
    this.#closeAll();
    for (const off of this.#offs) off();
    this.#offs = [];
  }

  /**
   * Sends stream's tracks to every peer (present and future) in place of
   * the previous local stream's: tracks in both keep their senders, others
   * are removed or added, and the peers renegotiate.
   */
  setLocalStream(stream) {
    this.localStream = stream;
    const keep = new Set(stream?.getTracks() ?? []);
    for (const peer of this.peers.values()) {
      for (const sender of peer.pc.getSenders()) {
        if (sender.track && !keep.has(sender.track)) peer.pc.removeTrack(sender);
      }
      this.#addTracks(peer.pc);
    }
  }

  /**
   * Replaces a local track with another of its kind on every peer, without
   * renegotiating (switching cameras, for example).
   */
  async replaceTrack(oldTrack, newTrack) {
    if (this.localStream) {
      this.localStream.removeTrack(oldTrack);
      this.localStream.addTrack(newTrack);
    }
    const all = [];
    for (const peer of this.peers.values()) {
      for (const sender of peer.pc.getSenders()) {
        if (sender.track === oldTrack) all.push(sender.replaceTrack(newTrack));
      }
    }
    await Promise.all(all);
  }

  #rtcConfig() {
    // The room's iceServers (STUN, and TURN credentials from the server)
    // when the server sends them, else the ones given to the constructor.
    const iceServers = this.#client.room?.iceServers ?? this.#options.iceServers;
    return { ...this.#options.rtcConfig, ...(iceServers ? { iceServers } : {}) };
  }

  // #sync reconciles the peers with the room's member list: a joiner offers
  // to everyone listed before it; a member that left is hung up on.
  #sync(participants, joined) {
    const me = this.#client.clientId;
    const present = new Set(participants);
    for (const id of [...this.peers.keys()]) {
      if (!present.has(id)) this.#hangUp(id);
    }
    if (!joined) return;
    for (const id of participants) {
      if (id === me) break;
      if (!this.peers.has(id)) this.#peer(id, true);
    }
  }

  // #onResumed reconciles the peers with the room as the server has it; the
  // events missed meanwhile follow and are handled as usual. When some were
  // lost (dropped > 0: offers, answers or candidates among them, perhaps),
  // every peer connection renegotiates with an ICE restart, and a room-mate
  // with none yet (its offer lost) is called.
  #onResumed({ participants, dropped }) {
    this.#sync(participants, false);
    if (!dropped) return;
    const me = this.#client.clientId;
    for (const id of participants) {
      if (id === me) continue;
      const peer = this.peers.get(id);
      if (peer) peer.pc.restartIce();
      else this.#peer(id, true);
    }
  }

  #peer(id, initiate) {
    let peer = this.peers.get(id);
    if (peer) return peer;
    const pc = new RTCPeerConnection(this.#rtcConfig());
    peer = { pc, stream: null, state: pc.connectionState, polite: this.#client.clientId > id, makingOffer: false, ignoreOffer: false };
    this.peers.set(id, peer);
    const client = this.#client;

    pc.onnegotiationneeded = async () => {
      try {
        peer.makingOffer = true;
        await pc.setLocalDescription();
        client.sendOffer(id, pc.localDescription);
      } catch (err) {
        this.emit('error', { peerId: id, error: err });
      } finally {
        peer.makingOffer = false;
      }
    };
    pc.onicecandidate = ({ candidate }) => {
      if (!candidate) return; // the end of gathering needs no message
      try {
        client.sendCandidate(id, candidate);
      } catch (err) {
        this.emit('error', { peerId: id, error: err });
      }
    };
    pc.ontrack = ({ track, streams }) => {
      const stream = streams[0] ?? peer.stream ?? new MediaStream();
      if (!streams[0] && !stream.getTracks().includes(track)) stream.addTrack(track);
      if (peer.stream !== stream) {
        peer.stream = stream;
        this.emit('stream', { peerId: id, stream });
      }
      this.emit('track', { peerId: id, track, stream });
    };
    pc.onconnectionstatechange = () => {
      peer.state = pc.connectionState;
      this.emit('connection-state', { peerId: id, state: pc.connectionState });
    };
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === 'failed') pc.restartIce();
    };
    this.emit('peer', { peerId: id, pc });
    if (initiate) {
      // Something to negotiate even without local media: receive both kinds.
      if (!this.#addTracks(pc)) {
        pc.addTransceiver('audio', { direction: 'recvonly' });
        pc.addTransceiver('video', { direction: 'recvonly' });
      }
    }
    return peer;
  }

  #addTracks(pc) {
    const stream = this.localStream;
    if (!stream) return false;
    const sending = new Set(pc.getSenders().map((s) => s.track));
    for (const track of stream.getTracks()) {
      if (!sending.has(track)) pc.addTrack(track, stream);
    }
    return stream.getTracks().length > 0;
  }

  async #onDescription(from, description) {
    // An offer from someone not yet known is a room-mate who joined after
    // us; its PeerConnection takes our tracks once the offer is set, so
    // that they ride on the offered transceivers.
    const fresh = !this.peers.has(from);
    if (!fresh && !description) return;
    if (fresh && description?.type !== 'offer') return;
    const peer = this.#peer(from, false);
    const { pc } = peer;
    try {
      const collision = description.type === 'offer' && (peer.makingOffer || pc.signalingState !== 'stable');
      peer.ignoreOffer = !peer.polite && collision;
      if (peer.ignoreOffer) return;
      await pc.setRemoteDescription(description); // rolls back our offer on collision
      if (description.type === 'offer') {
        this.#addTracks(pc);
        await pc.setLocalDescription();
        this.#client.sendAnswer(from, pc.localDescription);
      }
    } catch (err) {
      if (this.peers.get(from) === peer) this.emit('error', { peerId: from, error: err });
    }
  }

  async #onCandidate(from, candidate) {
    const peer = this.peers.get(from);
    if (!peer || !candidate) return;
    try {
      await peer.pc.addIceCandidate(candidate);
    } catch (err) {
      // Candidates of an offer we ignored are expected to fail.
      if (!peer.ignoreOffer && this.peers.get(from) === peer) this.emit('error', { peerId: from, error: err });
    }
  }

  #hangUp(id) {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    peer.pc.onnegotiationneeded = peer.pc.onicecandidate = peer.pc.ontrack = null;
    peer.pc.onconnectionstatechange = peer.pc.oniceconnectionstatechange = null;
    peer.pc.close();
    this.emit('peer-left', { peerId: id });
  }

  #closeAll() {
    for (const id of [...this.peers.keys()]) this.#hangUp(id);
  }
}
