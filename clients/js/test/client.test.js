// RedRTCClient against the real redrtc binary.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { RedRTCClient, RedRTCError, SUBPROTOCOL, backoffDelay } from '../src/index.js';
import { WS, eventually, freePort, next, startServer, wsFlags } from './server.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// Every client a test opens is closed when the file's tests end.
const opened = [];
function connect(url, options) {
  const c = new RedRTCClient(url, { WebSocket: WS, ...options });
  opened.push(c);
  return c;
}
after(() => opened.forEach((c) => c.close()));

describe('against one server', () => {
  let srv;
  before(async () => (srv = await startServer()));
  after(() => srv.stop());

  test('connects with the subprotocol and gets a client id', async () => {
    const seen = [];
    const ws = class extends WS {
      constructor(url, protocols) {
        super(url, protocols);
        seen.push(protocols);
        this.addEventListener('open', () => seen.push(this.protocol));
      }
    };
    const c = connect(srv.url, { WebSocket: ws });
    assert.equal(c.state, 'connecting');
    const [event, opened, id] = await Promise.all([next(c, 'client-id'), next(c, 'open'), c.ready]);
    assert.match(id, UUID);
    assert.equal(event.clientId, id);
    assert.equal(c.clientId, id);
    assert.deepEqual(opened, { clientId: id, reconnected: false, resumed: false });
    assert.equal(c.state, 'open');
    assert.deepEqual(seen, [SUBPROTOCOL, SUBPROTOCOL]);
  });

  test('join creates a room, a second client joins it, both see participants', async () => {
    const a = connect(srv.url);
    const created = next(a, 'room-created');
    const joinedEvent = next(a, 'room-joined');
    const joined = await a.join('sdk-join', { name: 'Stand-up' });
    assert.deepEqual(await created, { roomId: 'sdk-join', roomName: 'Stand-up' });
    assert.deepEqual(joined, { roomId: 'sdk-join', roomName: 'Stand-up', participants: [a.clientId] });
    assert.deepEqual(await joinedEvent, joined);
    assert.equal(a.roomId, 'sdk-join');
    assert.deepEqual(a.room, joined);

    const b = connect(srv.url);
    const seenByA = next(a, 'participants');
    const bJoined = await b.join('sdk-join', { name: 'ignored: the room exists' });
    assert.equal(bJoined.roomName, 'Stand-up');
    assert.deepEqual(bJoined.participants, [a.clientId, b.clientId]);
    assert.deepEqual(await seenByA, { roomId: 'sdk-join', participants: [a.clientId, b.clientId] });

    const gone = next(a, 'participants');
    const left = next(b, 'room-left');
    assert.deepEqual(await b.leave(), { roomId: 'sdk-join' });
    assert.deepEqual(await left, { roomId: 'sdk-join' });
    assert.equal(b.roomId, null);
    assert.deepEqual((await gone).participants, [a.clientId]);
  });

  test('a join without a room id gets a fresh room', async () => {
    const c = connect(srv.url);
    const joined = await c.join();
    assert.match(joined.roomId, UUID);
  });

  test('offer, answer and candidate are relayed with fromClientId, payload intact', async () => {
    const a = connect(srv.url);
    const b = connect(srv.url);
    await a.join('sdk-relay');
    await b.join('sdk-relay');
    const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
    const answer = { type: 'answer', sdp: 'v=0\r\n' };
    const candidate = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 };
    const gotOffer = next(b, 'offer');
    a.sendOffer(b.clientId, offer);
    assert.deepEqual(await gotOffer, { fromClientId: a.clientId, offer });
    const gotAnswer = next(a, 'answer');
    b.sendAnswer(a.clientId, { toJSON: () => answer }); // as an RTCSessionDescription
    assert.deepEqual(await gotAnswer, { fromClientId: b.clientId, answer });
    const gotCandidate = next(b, 'ice-candidate');
    a.sendCandidate(b.clientId, candidate);
    assert.deepEqual(await gotCandidate, { fromClientId: a.clientId, candidate });
  });

  test('errors that answer no request, bad-json and unknown-event, come as error events without .event', async () => {
    let socket;
    const ws = class extends WS {
      constructor(url, protocols) {
        super(url, protocols);
        socket = this;
      }
    };
    const c = connect(srv.url, { WebSocket: ws });
    await c.ready;
    for (const [raw, code] of [['{not json', 'bad-json'], ['{"event":"no-such-event","data":{}}', 'unknown-event']]) {
      const err = next(c, 'error');
      socket.send(raw);
      const e = await err;
      assert.ok(e instanceof RedRTCError);
      assert.equal(e.code, code);
      assert.equal(e.event, undefined);
    }
    assert.equal(c.state, 'open');
  });

  test('ping resolves at the pong event', async () => {
    const c = connect(srv.url);
    await c.ready;
    const pong = next(c, 'pong');
    await c.ping();
    assert.deepEqual(await pong, {});
  });

  test('server errors reject requests as RedRTCErrors with .code and come as error events', async () => {
    const c = connect(srv.url);
    await c.ready;

    const notInRoom = next(c, 'error');
    await assert.rejects(c.leave(), (err) => {
      assert.ok(err instanceof RedRTCError && err instanceof Error);
      assert.equal(err.code, 'not-in-room');
      assert.equal(err.event, 'leave-room');
      assert.match(err.message, /room/);
      return true;
    });
    assert.equal((await notInRoom).code, 'not-in-room');

    await assert.rejects(c.join('not a valid id!'), { name: 'RedRTCError', code: 'bad-request', event: 'join-room' });

    await c.join('sdk-errors');
    const notFound = next(c, 'error');
    c.sendOffer('6fa459ea-ee8a-4ca4-894e-db77e160355e', { type: 'offer', sdp: '' });
    const err = await notFound;
    assert.ok(err instanceof RedRTCError);
    assert.equal(err.code, 'target-not-found');
    assert.equal(err.event, 'offer');

    const badTarget = next(c, 'error');
    c.sendCandidate('not-a-uuid', { candidate: '' });
    assert.equal((await badTarget).code, 'bad-request');
  });

  test('room-full: the 7th join is refused and changes nothing', async () => {
    const members = [];
    for (let i = 0; i < 6; i++) {
      const m = connect(srv.url);
      await m.join('sdk-full');
      members.push(m);
    }
    const seventh = connect(srv.url);
    await assert.rejects(seventh.join('sdk-full'), { code: 'room-full', event: 'join-room' });
    assert.equal(seventh.roomId, null);
    assert.equal(seventh.state, 'open');
    assert.equal((await seventh.ping(), seventh.state), 'open');
    members.forEach((m) => m.close());
  });

  test('sending before the connection is open throws disconnected', () => {
    const c = connect(srv.url);
    assert.throws(() => c.sendOffer('x', {}), { code: 'disconnected' });
  });

  test('with no global WebSocket the constructor says what to do', () => {
    const saved = globalThis.WebSocket;
    delete globalThis.WebSocket;
    try {
      assert.throws(() => new RedRTCClient(srv.url), /options\.WebSocket.*--experimental-websocket/);
    } finally {
      globalThis.WebSocket = saved;
    }
  });

  test('the token option goes in the URL', async () => {
    const urls = [];
    const ws = class extends WS {
      constructor(url, protocols) {
        super(url, protocols);
        urls.push(url);
      }
    };
    const c = connect(srv.url + '?x=1', { WebSocket: ws, token: 'a.b.c' });
    await c.ready; // a server without --auth-* ignores it
    assert.deepEqual(urls, [srv.url + '?x=1&token=a.b.c']);
  });
});

test('room-limit and rate-limited, on servers started with -r 1 and --rate 1', async () => {
  const srv = await startServer(['-r', '1', '--rate', '1', '--burst', '1']);
  try {
    // resume: false, as the first ack would take the burst of 1.
    const a = connect(srv.url, { resume: false });
    await a.join('only-room');
    const b = connect(srv.url, { resume: false });
    await b.ready;
    // --burst 1: b's next message is over its rate and dropped with rate-limited.
    await assert.rejects(b.join('second-room'), { code: 'room-limit' });
    const limited = next(b, 'error');
    b.ping().catch(() => {}); // dropped: its request times out later, or the client closes
    assert.equal((await limited).code, 'rate-limited');
  } finally {
    await srv.stop();
  }
});

test('server-full: the refused client gets the error event and backs off', async () => {
  const srv = await startServer(['-c', '1']);
  try {
    const first = connect(srv.url);
    await first.ready;
    const second = connect(srv.url, { minReconnectDelay: 50, maxReconnectDelay: 200 });
    const [err, closed, retry] = await Promise.all([next(second, 'error'), next(second, 'close'), next(second, 'reconnecting')]);
    assert.equal(err.code, 'server-full');
    assert.deepEqual(closed, { code: 1013, reason: 'server full', willReconnect: true });
    assert.ok(retry.delay >= 25 && retry.delay <= 50, `first delay ${retry.delay}`);
    first.close();
    const opened = await next(second, 'open');
    assert.equal(opened.reconnected, true);
  } finally {
    await srv.stop();
  }
});

test('reconnects after the server restarts: the resume fails, and it rejoins its room under a new id', async () => {
  const port = await freePort();
  let srv = await startServer([], port);
  const c = connect(srv.url, { minReconnectDelay: 50, maxReconnectDelay: 400 });
  await c.join('sdk-restart', { name: 'Survives restarts' });
  const firstId = c.clientId;
  const closed = next(c, 'close');
  await srv.stop();
  assert.deepEqual(await closed, { code: 1001, reason: 'server shutting down', willReconnect: true });
  assert.equal(c.state, 'reconnecting');
  assert.equal(c.clientId, firstId, 'the id is kept while a resume may bring it back');
  const failed = next(c, 'error', 15000);
  const reopened = next(c, 'open', 15000);
  const attempts = [];
  c.on('reconnecting', (r) => attempts.push(r));
  // Let a few attempts fail against the closed port, then bring it back.
  await eventually(() => assert.ok(attempts.length >= 2, `${attempts.length} attempts`));
  srv = await startServer([], port);
  try {
    const rejoined = await next(c, 'room-joined', 10000);
    // A restarted server has no sessions: the resume fails, and the client
    // falls back to a new id.
    assert.deepEqual({ code: (await failed).code, event: (await failed).event }, { code: 'resume-failed', event: 'resume' });
    assert.deepEqual(await reopened, { clientId: c.clientId, reconnected: true, resumed: false });
    assert.equal(rejoined.roomId, 'sdk-restart');
    assert.equal(rejoined.roomName, 'Survives restarts'); // it re-created the room with its name
    assert.notEqual(c.clientId, firstId);
    assert.deepEqual(rejoined.participants, [c.clientId]);
    for (const a of attempts) assert.ok(a.delay <= 400, `delay ${a.delay} over the maximum`);
  } finally {
    c.close();
    await srv.stop();
  }
});

test('backoff grows exponentially with jitter and stays under the maximum', () => {
  for (let attempt = 0; attempt < 60; attempt++) {
    const ceiling = Math.min(30000, 500 * 2 ** attempt);
    assert.equal(backoffDelay(attempt, 500, 30000, () => 0), Math.round(ceiling / 2));
    assert.equal(backoffDelay(attempt, 500, 30000, () => 0.999999), Math.round(ceiling / 2 + (0.999999 * ceiling) / 2));
    const d = backoffDelay(attempt);
    assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${attempt}: ${d}`);
  }
});

test('an unreachable server: join rejects with disconnected, reconnects are bounded, close() stops them', async () => {
  const port = await freePort(); // nothing listens there
  const c = connect(`ws://127.0.0.1:${port}/`, { minReconnectDelay: 10, maxReconnectDelay: 40 });
  await assert.rejects(c.join('x'), { code: 'disconnected' });
  const delays = [];
  c.on('reconnecting', ({ delay }) => delays.push(delay));
  await eventually(() => assert.ok(delays.length >= 6));
  assert.ok(Math.max(...delays) <= 40, `delays ${delays}`);
  const closed = next(c, 'close');
  c.close();
  assert.deepEqual(await closed, { code: 1000, reason: 'closed by the client', willReconnect: false });
  const count = delays.length;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(delays.length, count, 'a reconnect after close()');
  await assert.rejects(c.join('x'), { code: 'closed' });
});

test('close() leaves nothing running: a Node.js process exits by itself', async () => {
  const srv = await startServer();
  try {
    const script = `
      import { RedRTCClient } from ${JSON.stringify(fileURLToPath(new URL('../src/index.js', import.meta.url)))};
      import { WS } from ${JSON.stringify(fileURLToPath(new URL('./server.js', import.meta.url)))};
      const c = new RedRTCClient(process.argv[1], { WebSocket: WS });
      await c.join('sdk-close');
      await c.ping();
      const p = c.join('sdk-close-2');
      c.close();
      await p.catch((e) => console.log(e.code));
      console.log('closed');
    `;
    const child = spawn(process.execPath, [...wsFlags, '--no-warnings', '--input-type=module', '-e', script, srv.url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    const code = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`the process was still running 10 s after close(); output: ${out}`));
      }, 10000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    assert.equal(code, 0);
    assert.equal(out, 'closed\nclosed\n');
    await eventually(async () => {
      const h = await (await fetch(`http://127.0.0.1:${srv.port}/healthz`)).json();
      assert.equal(h.clients, 0);
    });
  } finally {
    await srv.stop();
  }
});
