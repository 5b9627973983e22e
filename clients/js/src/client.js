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
  'resumed',
]);

const DEFAULTS = Object.freeze({
  reconnect: true,
  resume: true,
  ackDelay: 200,
  maxAuthFailures: 3,
  minReconnectDelay: 500,
  maxReconnectDelay: 30000,
  pingInterval: 25000,
  pingTimeout: 10000,
  requestTimeout: 10000,
});

// Close codes after which reconnecting would only repeat the failure or
// undo a decision: the client broke the protocol (1002, 1007, 1009), closed
// on purpose (1000), was removed by an operator (4000), or its session was
// taken over by a resume on another connection (4001).
const NO_RECONNECT = new Set([1000, 1002, 1007, 1009, 4000, 4001]);

// An ack goes out at the latest after this many unacknowledged events, even
// before ackDelay has passed (docs/protocol.md, Resume).
const ACK_EVERY = 16;

// Relays sent while a resumable session is reconnecting wait for the resume,
// up to this many; beyond it, and when the resume fails, they are dropped.
const OUTBOX_LIMIT = 256;

const RELAYS = new Set(['offer', 'answer', 'ice-candidate']);

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
  /**
   * This client's id: kept across a drop that is resumed, a new one after a
   * reconnect that is not; null while reconnecting without a session to
   * resume.
   */
  clientId = null;
  /** The room this client is in (or is rejoining after a reconnect), or null. */
  roomId = null;
  /** The last room-joined data, iceServers included when the server sends them. */
  room = null;
  /** 'connecting', 'open' (client-id received), 'reconnecting' or 'closed'. */
  state = 'connecting';
  /** The session's resume token, from client-id; null when the server has resume off. */
  resumeToken = null;
  /** The highest seq of the session handled so far (0 before any); null before client-id. */
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
  #ackTimer = null;
  #ackedSeq = null; // the last seq acked on this session; null: never acked
  #unacked = 0;
  #resuming = null; // while a resume awaits its answer: the connection's own client-id data
  #resumeTimer = null;
  #outbox = []; // relays held for the resume
  #authFailures = 0; // connections refused in a row while a token is in use

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
    this.#url = url;
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
    if (token !== undefined) data.token = await resolveToken(token, 'join');
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

  /** Sends the application ping (and an ack of what came); resolves at the pong. */
  async ping() {
    await this.#whenOpen();
    this.#sendAck();
    await this.#request('ping', {}, 'pong');
  }

  /** Closes the connection for good: no reconnect, no timer left running. */
  close() {
    if (this.state === 'closed') return;
    this.#closedByUs = true;
    clearTimeout(this.#reconnectTimer);
    this.#stopPing();
    this.#stopAck();
    clearTimeout(this.#resumeTimer);
    this.#outbox = [];
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

  // #connect opens the next connection, asking the token function (when the
  // token option is one) for a fresh token first.
  #connect() {
    const token = this.#opts.token;
    if (typeof token !== 'function') {
      this.#open(withToken(this.#url, token));
      return;
    }
    resolveToken(token, 'connect').then(
      (t) => {
        if (this.state !== 'closed') this.#open(withToken(this.#url, t));
      },
      (err) => {
        if (this.state === 'closed') return;
        this.emit('error', err);
        this.#onClose(1006, 'no token');
      },
    );
  }

  #open(url) {
    let ws;
    try {
      ws = new this.#WebSocket(url, SUBPROTOCOL);
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
    ws.onerror = (e) => {
      if (!opened) this.#notConnected(ws, e);
    };
  }

  // #notConnected handles a connection that failed before it opened. While
  // a token is in use, it tells a refusal (the server answered the upgrade,
  // but not with 101: with a token, almost always 401) from an unreachable
  // server, and gives up after maxAuthFailures refusals in a row. Browsers
  // and Node.js's WebSocket hide the status, so a refusal is a failed
  // upgrade to a server whose /healthz answers; the ws package names it.
  async #notConnected(ws, event) {
    if (this.#ws !== ws) return;
    detach(ws);
    this.#ws = null;
    let refused = false;
    if (this.#opts.token !== undefined && this.#opts.maxAuthFailures > 0) {
      refused = /\b401\b/.test(String(event?.message ?? event?.error?.message ?? '')) || (await this.#serverAnswers());
    }
    if (this.state === 'closed') return;
    this.#authFailures = refused ? this.#authFailures + 1 : 0;
    if (refused && this.#authFailures >= this.#opts.maxAuthFailures) {
      const err = new RedRTCError(
        'unauthorized',
        `the server refused the connection ${this.#authFailures} times in a row: the access token is not accepted`,
      );
      this.#lastError = err;
      this.emit('error', err);
      this.#end(1006, 'unauthorized', err);
      return;
    }
    this.#onClose(1006, 'cannot connect');
  }

  // #serverAnswers: does the server answer plain HTTP (its /healthz) at all?
  async #serverAnswers() {
    if (typeof fetch !== 'function') return false;
    try {
      const u = new URL(this.#url);
      u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
      u.pathname = '/healthz';
      u.search = '';
      const browser = typeof document !== 'undefined';
      await fetch(u, { ...(browser ? { mode: 'no-cors' } : {}), cache: 'no-store', signal: AbortSignal.timeout(this.#opts.requestTimeout) });
      return true;
    } catch {
      return false;
    }
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
    const data = msg.data ?? {};
    this.#armPing(); // any message shows the socket is alive
    if (this.#resuming) {
      if (msg.event === 'resumed') {
        this.#onResumed(data);
        return;
      }
      if (msg.event === 'error' && data.code === 'resume-failed') this.#onResumeFailed();
    }
    const seq = typeof msg.seq === 'number' ? msg.seq : null;
    // The server sends no event twice; this keeps a replay from being
    // handled again all the same.
    if (seq !== null && this.lastSeq !== null && seq <= this.lastSeq) return;
    switch (msg.event) {
      case 'client-id':
        this.#onClientId(data);
        return; // #onClientId emits it when the id becomes this client's
      case 'room-joined':
        this.roomId = data.roomId;
        this.room = data;
        this.#settle('room-joined', data);
        break;
      case 'room-left':
        this.roomId = null;
        this.room = null;
        this.#joinOptions = null; // the server took us out: nothing to rejoin
        this.#settle('room-left', data);
        break;
      case 'pong':
        this.#settle('pong', data);
        break;
      case 'error': {
        const err = new RedRTCError(data.code, data.message, data.event);
        this.#lastError = err;
        if (err.code === 'room-closed') this.#joinOptions = null;
        this.#settleError(err);
        break;
      }
    }
    this.emit(msg.event, msg.event === 'error' ? this.#lastError : data);
    // Acknowledged only once handled, handlers included.
    if (seq !== null) {
      this.lastSeq = seq;
      this.#scheduleAck();
    }
  }

  // #resumable: this client holds a session the server keeps for it when
  // its socket drops (it has a token and has acked).
  #resumable() {
    return this.#opts.resume && this.resumeToken !== null && this.clientId !== null && this.#ackedSeq !== null;
  }

  #onClientId(data) {
    const reconnected = this.#attempt > 0 || this.clientId !== null || this.lastSeq !== null;
    if (reconnected && this.#resumable()) {
      // The first message of the connection: take the session over. This
      // connection's own id stands in reserve, for when the resume fails.
      this.#resuming = data;
      this.#ws.send(JSON.stringify({ event: 'resume', data: { clientId: this.clientId, resumeToken: this.resumeToken, lastSeq: this.lastSeq } }));
      // A resume left unanswered is a dead socket like a ping left without pong.
      this.#resumeTimer = setTimeout(() => this.#dropDeadSocket('no answer to resume'), this.#opts.requestTimeout);
      return;
    }
    this.#adopt(data, reconnected);
  }

  // #adopt makes a connection's client-id this client's: a new session.
  #adopt(data, reconnected) {
    this.clientId = data.clientId;
    this.resumeToken = data.resumeToken ?? null;
    this.lastSeq = 0;
    this.#ackedSeq = null;
    this.#outbox = [];
    this.state = 'open';
    this.#attempt = 0;
    this.#authFailures = 0;
    // ack 0 at once: the server retains what it sends from then on.
    if (this.#opts.resume && this.resumeToken !== null) this.#sendAck(true);
    this.#ready.resolve(this.clientId);
    this.emit('client-id', data);
    this.emit('open', { clientId: this.clientId, reconnected, resumed: false });
    // Without a session to resume a reconnected client is a new client,
    // and rejoins its room under its new id.
    const again = this.#joinOptions;
    if (reconnected && again) {
      this.join(again.roomId, { name: again.name, token: again.token }).catch((err) => {
        this.#joinOptions = null;
        this.roomId = null;
        this.emit('rejoin-failed', err);
      });
    }
  }

  #onResumed(data) {
    this.#resuming = null;
    clearTimeout(this.#resumeTimer);
    this.clientId = data.clientId;
    this.roomId = data.roomId ?? null;
    const participants = data.participants ?? [];
    if (this.roomId === null) {
      this.room = null;
      this.#joinOptions = null;
    } else if (this.room?.roomId === this.roomId) {
      this.room = { ...this.room, participants };
    } else {
      // A join the server handled while its answer was lost in the drop.
      this.room = { roomId: this.roomId, roomName: this.roomId, participants };
      this.#joinOptions = { roomId: this.roomId };
    }
    this.state = 'open';
    this.#attempt = 0;
    this.#authFailures = 0;
    this.#ready.resolve(this.clientId);
    const resumed = { clientId: this.clientId, roomId: this.roomId, participants, missed: data.missed ?? 0, dropped: data.dropped ?? 0 };
    this.emit('open', { clientId: this.clientId, reconnected: true, resumed: true });
    this.emit('resumed', resumed);
    const held = this.#outbox;
    this.#outbox = [];
    for (const text of held) this.#ws?.send(text);
  }

  // #onResumeFailed: the session is gone; the connection carries on as the
  // fresh client its client-id named, and the client falls back to what it
  // does without resume: a new id, and the room joined again.
  #onResumeFailed() {
    const fresh = this.#resuming;
    this.#resuming = null;
    clearTimeout(this.#resumeTimer);
    this.#adopt(fresh, true);
  }

  #onClose(code, reason) {
    const ws = this.#ws;
    if (ws) detach(ws);
    this.#ws = null;
    this.#stopPing();
    this.#stopAck();
    this.#resuming = null;
    clearTimeout(this.#resumeTimer);
    const err = new RedRTCError('disconnected', `connection closed (${code}${reason ? ` ${reason}` : ''})`);
    this.#failPending(err);
    const wasOpen = this.state === 'open';
    if (wasOpen) this.#newReady();
    const kicked = this.#lastError?.code === 'join-timeout';
    const willReconnect = !this.#closedByUs && this.#opts.reconnect && !NO_RECONNECT.has(code) && !kicked;
    if (!willReconnect) {
      this.#end(code, reason, err);
      return;
    }
    // A session the server keeps is resumed with the same id; otherwise
    // the next connection brings a new one.
    if (!this.#resumable()) this.clientId = null;
    const delay = backoffDelay(this.#attempt, this.#opts.minReconnectDelay, this.#opts.maxReconnectDelay);
    this.#attempt++;
    this.state = 'reconnecting';
    this.emit('close', { code, reason, willReconnect: true });
    this.emit('reconnecting', { attempt: this.#attempt, delay });
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  // #end closes the client for good after the connection ended.
  #end(code, reason, err) {
    this.clientId = null;
    this.#outbox = [];
    this.#stopPing();
    this.#stopAck();
    this.state = 'closed';
    this.#failPending(err);
    this.#ready.reject(err);
    this.emit('close', { code, reason, willReconnect: false });
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
      // A relay to a room-mate waits for the resume, which keeps the seat.
      if (RELAYS.has(event) && this.state === 'reconnecting' && this.#resumable() && this.#outbox.length < OUTBOX_LIMIT) {
        this.#outbox.push(JSON.stringify({ event, data }));
        return;
      }
      throw new RedRTCError('disconnected', `cannot send ${event}: not connected`);
    }
    this.#ws.send(JSON.stringify({ event, data }));
  }

  // #scheduleAck acks what was handled within ackDelay, or at once after
  // ACK_EVERY events, so that the server's buffer for this client stays
  // small (it keeps every event until an ack covers it).
  #scheduleAck() {
    if (this.#ackedSeq === null) return; // not resumable: nothing to ack
    if (++this.#unacked >= ACK_EVERY) {
      this.#sendAck();
      return;
    }
    this.#ackTimer ??= setTimeout(() => this.#sendAck(), this.#opts.ackDelay);
  }

  // #sendAck sends ack {seq: lastSeq} when something is unacknowledged
  // (first: the session's first ack, seq 0, which makes it resumable).
  #sendAck(first = false) {
    this.#stopAck();
    if (!this.#ws || this.state !== 'open') return;
    if (!first && (this.#ackedSeq === null || this.#ackedSeq >= this.lastSeq)) return;
    this.#ws.send(JSON.stringify({ event: 'ack', data: { seq: this.lastSeq } }));
    this.#ackedSeq = this.lastSeq;
  }

  #stopAck() {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = null;
    this.#unacked = 0;
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
        this.#sendAck();
        this.#send('ping', {});
      } catch {
        return;
      }
      this.#pongTimer = setTimeout(() => this.#dropDeadSocket('no pong from the server'), this.#opts.pingTimeout);
    }, this.#opts.pingInterval);
  }

  #stopPing() {
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#pongTimer);
  }

  #dropDeadSocket(why) {
    const ws = this.#ws;
    if (!ws) return;
    try {
      ws.close(4000, why);
    } catch {
      // closing anyway
    }
    this.#onClose(1006, why);
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

// resolveToken turns the token option (a string, or a function returning
// one or a promise of one) into the token for this connect or join.
async function resolveToken(token, when) {
  if (typeof token !== 'function') return token;
  let value;
  try {
    value = await token();
  } catch (err) {
    throw new RedRTCError('token-failed', `the token function failed at ${when}: ${err?.message ?? err}`);
  }
  if (typeof value !== 'string') throw new RedRTCError('token-failed', `the token function returned ${typeof value} at ${when}, not a string`);
  return value;
}

function withToken(url, token) {
  if (!token) return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
}
