import { Emitter } from './emitter.js';
import { RedRTCError } from './errors.js';

export const SUBPROTOCOL = 'webrtc-signaling';

/** The events the server sends (docs/protocol.md). */
export const SERVER_EVENTS = Object.freeze([
  'client-id',
  'room-created',
  'room-joined',
  'participants',
  'room-left',
  'offer',
  'answer',
  'ice-candidate',
  'pong',
  'error',
]);

const DEFAULTS = Object.freeze({
  reconnect: true,
  minReconnectDelay: 500,
  maxReconnectDelay: 30000,
  pingInterval: 25000,
  pingTimeout: 10000,
  requestTimeout: 10000,
});

// Close codes after which reconnecting would only repeat the failure: the
// client broke the protocol (1002, 1007, 1009), or closed on purpose.
const NO_RECONNECT = new Set([1000, 1002, 1007, 1009]);

/**
 * The delay before reconnect attempt `attempt` (0 first): exponential from
 * min to max, with "equal jitter" (half fixed, half random) so that clients
 * dropped together by a restart do not all come back in the same instant.
 */
export function backoffDelay(attempt, min = DEFAULTS.minReconnectDelay, max = DEFAULTS.maxReconnectDelay, random = Math.random) {
  const ceiling = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * RedRTCClient is the signaling layer: one WebSocket to a RedRTC server,
 * requests as promises, every server event as a typed event, reconnection
 * with backoff, and the application ping.
 */
export class RedRTCClient extends Emitter {
  /** The id the server gave this connection; a new one after a reconnect. */
  clientId = null;
  /** The room this client is in (or is rejoining after a reconnect), or null. */
  roomId = null;
  /** The last room-joined data, iceServers included when the server sends them. */
  room = null;
  /** 'connecting', 'open' (client-id received), 'reconnecting' or 'closed'. */
  state = 'connecting';
  /** Session resume (issue 21), recorded when the server sends them; not used yet. */
  resumeToken = null;
  lastSeq = null;

  #url;
  #opts;
  #WebSocket;
  #ws = null;
  #attempt = 0;
  #reconnectTimer = null;
  #pingTimer = null;
  #pongTimer = null;
  #pending = []; // requests awaiting their reply, in the order sent
  #ready = null; // resolves at client-id
  #joinOptions = null;
  #closedByUs = false;
  #lastError = null;

  /**
   * @param {string} url ws:// or wss:// address of the server
   * @param {object} [options] see docs/client.md
   */
  constructor(url, options = {}) {
    super();
    this.#opts = { ...DEFAULTS, ...options };
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== 'function') {
      throw new TypeError(
        'RedRTCClient: no WebSocket; pass options.WebSocket, or run Node.js 20 with --experimental-websocket (built in from Node.js 22)',
      );
    }
    this.#url = withToken(url, options.token);
    this.#newReady();
    this.#connect();
  }

  /** Resolves with the client id once the server has sent client-id. */
  get ready() {
    return this.#ready.promise;
  }

  /**
   * Joins (and creates, when needed) a room; resolves with the room-joined
   * data: {roomId, roomName, participants, iceServers?}. Rejects with a
   * RedRTCError: room-full, room-limit, bad-request, unauthorized, timeout,
   * disconnected, closed.
   */
  async join(roomId, { name, token } = {}) {
    await this.#whenOpen();
    const data = {};
    if (roomId !== undefined && roomId !== null) data.roomId = roomId;
    if (name !== undefined) data.roomName = name;
    if (token !== undefined) data.token = token;
    const joined = await this.#request('join-room', data, 'room-joined');
    this.#joinOptions = { roomId: joined.roomId, name, token };
    return joined;
  }

  /** Leaves the room; resolves with {roomId}. */
  async leave() {
    await this.#whenOpen();
    this.#joinOptions = null;
    const left = await this.#request('leave-room', {}, 'room-left');
    return left;
  }

  sendOffer(targetClientId, offer) {
    this.#send('offer', { targetClientId, offer: plain(offer) });
  }

  sendAnswer(targetClientId, answer) {
    this.#send('answer', { targetClientId, answer: plain(answer) });
  }

  sendCandidate(targetClientId, candidate) {
    this.#send('ice-candidate', { targetClientId, candidate: plain(candidate) });
  }

  /** Sends the application ping; resolves at the pong. */
  async ping() {
    await this.#whenOpen();
    await this.#request('ping', {}, 'pong');
  }

  /** Closes the connection for good: no reconnect, no timer left running. */
  close() {
    if (this.state === 'closed') return;
    this.#closedByUs = true;
    clearTimeout(this.#reconnectTimer);
    this.#stopPing();
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      detach(ws);
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
    }
    this.state = 'closed';
    const err = new RedRTCError('closed', 'the client was closed');
    this.#failPending(err);
    this.#ready.reject(err);
    this.emit('close', { code: 1000, reason: 'closed by the client', willReconnect: false });
  }

  #connect() {
    let ws;
    try {
      ws = new this.#WebSocket(this.#url, SUBPROTOCOL);
    } catch (err) {
      // A malformed URL throws at once; nothing to retry.
      this.state = 'closed';
      const e = new RedRTCError('disconnected', `cannot connect to ${this.#url}: ${err.message}`);
      this.#ready.reject(e);
      queueMicrotask(() => this.emit('close', { code: 1006, reason: e.message, willReconnect: false }));
      return;
    }
    this.#ws = ws;
    ws.onmessage = (e) => this.#onMessage(e.data);
    ws.onclose = (e) => this.#onClose(e.code, e.reason);
    // In browsers an error is always followed by close, which does the
    // work; Node.js 20's WebSocket fires only error when it cannot connect.
    let opened = false;
    ws.onopen = () => (opened = true);
    ws.onerror = () => {
      if (!opened) this.#onClose(1006, 'cannot connect');
    };
  }

  #onMessage(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      this.emit('error', new RedRTCError('bad-message', 'the server sent a message that is not JSON'));
      return;
    }
    if (!msg || typeof msg.event !== 'string') return;
    if (typeof msg.seq === 'number') this.lastSeq = msg.seq;
    const data = msg.data ?? {};
    this.#armPing(); // any message shows the socket is alive
    switch (msg.event) {
      case 'client-id':
        this.#onClientId(data);
        break;
      case 'room-joined':
        this.roomId = data.roomId;
        this.room = data;
        this.#settle('room-joined', data);
        break;
      case 'room-left':
        this.roomId = null;
        this.room = null;
        this.#settle('room-left', data);
        break;
      case 'pong':
        this.#settle('pong', data);
        break;
      case 'error': {
        const err = new RedRTCError(data.code, data.message, data.event);
        this.#lastError = err;
        this.#settleError(err);
        break;
      }
    }
    this.emit(msg.event, msg.event === 'error' ? this.#lastError : data);
  }

  #onClientId(data) {
    const reconnected = this.#attempt > 0 || this.clientId !== null;
    this.clientId = data.clientId;
    if (data.resumeToken) this.resumeToken = data.resumeToken;
    this.state = 'open';
    this.#attempt = 0;
    this.#ready.resolve(this.clientId);
    this.emit('open', { clientId: this.clientId, reconnected });
    // Session resume (issue 21) goes here: send resume with resumeToken and
    // lastSeq instead of joining again. Until then a reconnected client is a
    // new client, and rejoins its room under its new id.
    const again = this.#joinOptions;
    if (reconnected && again) {
      this.join(again.roomId, { name: again.name, token: again.token }).catch((err) => {
        this.#joinOptions = null;
        this.roomId = null;
        this.emit('rejoin-failed', err);
      });
    }
  }

  #onClose(code, reason) {
    const ws = this.#ws;
    if (ws) detach(ws);
    this.#ws = null;
    this.#stopPing();
    const err = new RedRTCError('disconnected', `connection closed (${code}${reason ? ` ${reason}` : ''})`);
    this.#failPending(err);
    const wasOpen = this.state === 'open';
    if (wasOpen) this.#newReady();
    this.clientId = null;
    const kicked = this.#lastError?.code === 'join-timeout';
    const willReconnect = !this.#closedByUs && this.#opts.reconnect && !NO_RECONNECT.has(code) && !kicked;
    if (!willReconnect) {
      this.state = 'closed';
      this.#ready.reject(err);
      this.emit('close', { code, reason, willReconnect: false });
      return;
    }
    const delay = backoffDelay(this.#attempt, this.#opts.minReconnectDelay, this.#opts.maxReconnectDelay);
    this.#attempt++;
    this.state = 'reconnecting';
    this.emit('close', { code, reason, willReconnect: true });
    this.emit('reconnecting', { attempt: this.#attempt, delay });
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #newReady() {
    let resolve, reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {}); // a rejection nobody awaited is not an error
    this.#ready = { promise, resolve, reject };
  }

  // #whenOpen waits for client-id; while reconnecting it waits for the next
  // connection, and fails at once when the client was closed.
  async #whenOpen() {
    if (this.state === 'closed') throw new RedRTCError('closed', 'the client was closed');
    if (this.state !== 'open') {
      // A connection that fails before client-id rejects the request rather
      // than leave it waiting through every retry.
      const failed = new Promise((_, reject) => {
        const off = this.once('close', ({ code, reason }) =>
          reject(new RedRTCError('disconnected', `cannot reach the server (${code}${reason ? ` ${reason}` : ''})`)),
        );
        this.#ready.promise.then(off, off);
      });
      await Promise.race([this.#ready.promise, failed]);
    }
  }

  #send(event, data) {
    if (this.state === 'closed') throw new RedRTCError('closed', `cannot send ${event}: the client was closed`);
    if (!this.#ws || this.state !== 'open') {
      throw new RedRTCError('disconnected', `cannot send ${event}: not connected`);
    }
    this.#ws.send(JSON.stringify({ event, data }));
  }

  #request(event, data, reply) {
    return new Promise((resolve, reject) => {
      const req = { event, reply, resolve, reject, timer: null };
      req.timer = setTimeout(() => {
        this.#pending = this.#pending.filter((r) => r !== req);
        reject(new RedRTCError('timeout', `no ${reply} within ${this.#opts.requestTimeout} ms`, event));
      }, this.#opts.requestTimeout);
      this.#pending.push(req);
      try {
        this.#send(event, data);
      } catch (err) {
        clearTimeout(req.timer);
        this.#pending = this.#pending.filter((r) => r !== req);
        reject(err);
      }
    });
  }

  // The server answers a client's requests in order, so the oldest request
  // waiting for this reply is the one it answers.
  #settle(reply, data) {
    const i = this.#pending.findIndex((r) => r.reply === reply);
    if (i < 0) return;
    const [req] = this.#pending.splice(i, 1);
    clearTimeout(req.timer);
    req.resolve(data);
  }

  #settleError(err) {
    const i = this.#pending.findIndex((r) => r.event === err.event);
    if (i < 0) return;
    const [req] = this.#pending.splice(i, 1);
    clearTimeout(req.timer);
    req.reject(err);
  }

  #failPending(err) {
    const pending = this.#pending;
    this.#pending = [];
    for (const req of pending) {
      clearTimeout(req.timer);
      req.reject(err);
    }
  }

  // The application ping: a ping after pingInterval without a message from
  // the server keeps proxies from cutting the idle socket, and a pong
  // missing for pingTimeout shows that the socket died silently (a phone
  // changing networks), which a browser may not notice for minutes.
  #armPing() {
    if (!this.#opts.pingInterval) return;
    this.#stopPing();
    this.#pingTimer = setTimeout(() => {
      try {
        this.#send('ping', {});
      } catch {
        return;
      }
      this.#pongTimer = setTimeout(() => this.#dropDeadSocket(), this.#opts.pingTimeout);
    }, this.#opts.pingInterval);
  }

  #stopPing() {
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#pongTimer);
  }

  #dropDeadSocket() {
    const ws = this.#ws;
    if (!ws) return;
    try {
      ws.close(4000, 'no pong');
    } catch {
      // closing anyway
    }
    this.#onClose(1006, 'no pong from the server');
  }
}

function detach(ws) {
  ws.onmessage = ws.onclose = ws.onopen = null;
  ws.onerror = () => {}; // a late error on a closing socket is expected
}

// plain turns an RTCSessionDescription or RTCIceCandidate into the plain
// object JSON.stringify would produce, so that the SDK's own messages look
// the same in every engine.
function plain(v) {
  return v && typeof v.toJSON === 'function' ? v.toJSON() : v;
}

function withToken(url, token) {
  if (!token) return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
}
