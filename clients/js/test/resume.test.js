// Acks, session resume, the close codes that end a client, and token
// functions, against the real redrtc binary. A drop is a TCP proxy between
// the client and the server whose sockets the test destroys: the
// connection ends without a close frame, as when a network goes away.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, connect as tcpConnect } from 'node:net';
import { after, test } from 'node:test';

import { RedRTCClient } from '../src/index.js';
import { WS, eventually, freePort, next, startServer } from './server.js';

const opened = [];
function connect(url, options) {
  const c = new RedRTCClient(url, { WebSocket: WS, minReconnectDelay: 20, maxReconnectDelay: 100, ...options });
  opened.push(c);
  return c;
}
after(() => opened.forEach((c) => c.close()));

/**
 * A TCP proxy to port. cut() destroys every connection through it, both
 * ends, without a close frame; while down() holds, it destroys each new
 * connection at once, so the client keeps failing to reconnect; up() lets
 * them through again. While muted, what clients send after their upgrade
 * request is dropped: the server never hears it, the client hears it.
 */
async function proxy(port) {
  const pairs = new Set();
  let refusing = false;
  let muted = false;
  const srv = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const server = tcpConnect(port, '127.0.0.1');
    const pair = [client, server];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
    // The first chunk is the HTTP upgrade request (one write on loopback),
    // let through even while muted.
    let upgrade = true;
    client.on('data', (b) => {
      if (upgrade || !muted) server.write(b);
      upgrade = false;
    });
    server.pipe(client);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${srv.address().port}/`,
    cut() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
    },
    down() {
      refusing = true;
      this.cut();
    },
    up() {
      refusing = false;
    },
    mute(on) {
      muted = on;
    },
    close() {
      this.down();
      return new Promise((resolve) => srv.close(resolve));
    },
  };
}

/** A WebSocket class that records what each of its sockets sends. */
function recording() {
  const sockets = [];
  const ws = class extends WS {
    constructor(url, protocols) {
      super(url, protocols);
      this.url_ = url;
      this.sent = [];
      sockets.push(this);
    }
    send(text) {
      this.sent.push(JSON.parse(text));
      super.send(text);
    }
  };
  return { ws, sockets };
}

/** Collects every event of one name an emitter sends. */
function collect(emitter, event) {
  const seen = [];
  emitter.on(event, (d) => seen.push(d));
  return seen;
}

test('a dropped socket resumes: same id, its room-mate sees nothing, and what was sent meanwhile arrives once, in order', async () => {
  const srv = await startServer();
  const px = await proxy(srv.port);
  try {
    const { ws, sockets } = recording();
    const a = connect(px.url, { WebSocket: ws });
    const b = connect(srv.url);
    await a.join('resume-cut');
    const aSawB = next(a, 'participants');
    await b.join('resume-cut');
    await aSawB;
    const id = a.clientId;
    const bParticipants = collect(b, 'participants');
    assert.deepEqual(sockets[0].sent[0], { event: 'ack', data: { seq: 0 } }, 'the first message acks 0');

    const offers = collect(a, 'offer');
    const candidates = collect(a, 'ice-candidate');
    const closed = next(a, 'close');
    px.down();
    const { code, willReconnect } = await closed;
    assert.deepEqual({ code, willReconnect }, { code: 1006, willReconnect: true });
    assert.equal(a.clientId, id);
    assert.equal(a.state, 'reconnecting');
    // Reconnect attempts fail while b sends an offer and 10 candidates.
    await next(a, 'reconnecting');
    b.sendOffer(id, { type: 'offer', sdp: 'v=0\r\n' });
    for (let i = 0; i < 10; i++) b.sendCandidate(id, { candidate: `candidate:${i}`, sdpMid: '0', sdpMLineIndex: 0 });
    await b.ping(); // the server has handled them: they wait in a's session
    // A relay a sends while away waits for the resume.
    const answered = next(b, 'answer');
    a.sendAnswer(b.clientId, { type: 'answer', sdp: 'v=0\r\n' });

    const resumed = next(a, 'resumed');
    const reopened = next(a, 'open');
    px.up();
    assert.deepEqual(await reopened, { clientId: id, reconnected: true, resumed: true });
    assert.deepEqual(await resumed, { clientId: id, roomId: 'resume-cut', participants: [id, b.clientId], missed: 11, dropped: 0 });
    assert.deepEqual(await answered, { fromClientId: id, answer: { type: 'answer', sdp: 'v=0\r\n' } });
    await eventually(() => assert.equal(candidates.length, 10));
    assert.deepEqual(offers, [{ fromClientId: b.clientId, offer: { type: 'offer', sdp: 'v=0\r\n' } }]);
    assert.deepEqual(
      candidates.map((c) => c.candidate.candidate),
      Array.from({ length: 10 }, (_, i) => `candidate:${i}`),
    );
    assert.equal(a.clientId, id);
    assert.equal(a.roomId, 'resume-cut');
    assert.deepEqual(a.room.participants, [id, b.clientId]);

    // The new connection's first message was resume, with the stored values.
    const resumer = sockets.at(-1);
    assert.equal(resumer.sent[0].event, 'resume');
    assert.deepEqual(Object.keys(resumer.sent[0].data).sort(), ['clientId', 'lastSeq', 'resumeToken']);
    assert.equal(resumer.sent[0].data.clientId, id);
    assert.equal(resumer.sent[0].data.resumeToken, a.resumeToken);
    // The replayed events are acked (within ackDelay), up to the last one.
    await eventually(() => assert.deepEqual(resumer.sent.filter((m) => m.event === 'ack').at(-1), { event: 'ack', data: { seq: a.lastSeq } }));

    // Still one client to the room: its mate saw no one leave or join.
    await b.ping();
    assert.deepEqual(bParticipants, []);
    const h = await (await fetch(`http://127.0.0.1:${srv.port}/healthz`)).json();
    assert.equal(h.clients, 2);
  } finally {
    await px.close();
    await srv.stop();
  }
});

test('a resume left unanswered drops the socket after requestTimeout, and the next connection resumes', async () => {
  const srv = await startServer();
  const px = await proxy(srv.port);
  try {
    const a = connect(px.url, { requestTimeout: 300 });
    await a.join('resume-mute');
    const id = a.clientId;
    const closes = collect(a, 'close');
    px.mute(true); // the next connection's resume goes nowhere
    px.cut();
    await eventually(() => assert.ok(closes.some((c) => c.reason === 'no answer to resume'), JSON.stringify(closes)));
    const resumed = next(a, 'resumed');
    px.mute(false);
    assert.equal((await resumed).clientId, id);
    assert.equal(a.roomId, 'resume-mute');
  } finally {
    await px.close();
    await srv.stop();
  }
});

test('acks: each handled event is acked within ackDelay, and every 16 at once', async () => {
  const srv = await startServer();
  try {
    const { ws, sockets } = recording();
    const a = connect(srv.url, { WebSocket: ws, ackDelay: 100 });
    const b = connect(srv.url);
    await a.join('resume-acks');
    await b.join('resume-acks');
    const acks = () => sockets[0].sent.filter((m) => m.event === 'ack').map((m) => m.data.seq);
    await eventually(() => assert.equal(acks().at(-1), a.lastSeq));
    const base = a.lastSeq;
    // 20 events in a row: an ack after the 16th, then one for the rest.
    const got = collect(a, 'ice-candidate');
    for (let i = 0; i < 20; i++) b.sendCandidate(a.clientId, { candidate: `c${i}` });
    await eventually(() => assert.equal(got.length, 20));
    await eventually(() => assert.equal(acks().at(-1), base + 20));
    const later = acks().filter((s) => s > base);
    assert.equal(later[0], base + 16, `acks ${later}`);
    // Never an ack of what was not handled, nor the same one twice.
    for (let i = 1; i < acks().length; i++) assert.ok(acks()[i] > acks()[i - 1], `acks ${acks()}`);
    // The application ping carries the ack of what came since.
    b.sendCandidate(a.clientId, { candidate: 'last' });
    await next(a, 'ice-candidate');
    await a.ping();
    const sent = sockets[0].sent.map((m) => m.event);
    assert.deepEqual(sent.slice(-2), ['ack', 'ping']);
    assert.equal(acks().at(-1), base + 21);
  } finally {
    await srv.stop();
  }
});

test('a resume that fails (the session outlived its grace) falls back to a new id and rejoins the room', async () => {
  const srv = await startServer(['--resume-grace', '1']);
  const px = await proxy(srv.port);
  try {
    const a = connect(px.url);
    const b = connect(srv.url);
    await a.join('resume-late', { name: 'Late' });
    await b.join('resume-late');
    const old = a.clientId;
    const gone = next(b, 'participants', 10000);
    px.down();
    // The grace passes: the server ends the session and b sees a leave.
    assert.deepEqual((await gone).participants, [b.clientId]);
    const failed = next(a, 'error');
    const rejoined = next(a, 'room-joined');
    const seenByB = next(b, 'participants');
    px.up();
    const err = await failed;
    assert.equal(err.code, 'resume-failed');
    const joined = await rejoined;
    assert.notEqual(a.clientId, old);
    assert.equal(joined.roomId, 'resume-late');
    assert.deepEqual(joined.participants, [b.clientId, a.clientId]);
    assert.deepEqual((await seenByB).participants, [b.clientId, a.clientId]);
    // The new session is resumable in its turn.
    const resumed = next(a, 'resumed');
    px.cut();
    assert.equal((await resumed).clientId, a.clientId);
  } finally {
    await px.close();
    await srv.stop();
  }
});

test('with --resume-grace 0 there is no token and no ack; a drop reconnects as a new client and rejoins', async () => {
  const srv = await startServer(['--resume-grace', '0']);
  const px = await proxy(srv.port);
  try {
    const { ws, sockets } = recording();
    const a = connect(px.url, { WebSocket: ws });
    await a.join('resume-off');
    assert.equal(a.resumeToken, null);
    const old = a.clientId;
    const rejoined = next(a, 'room-joined');
    const reopened = next(a, 'open');
    px.cut();
    assert.equal((await reopened).resumed, false);
    await rejoined;
    assert.notEqual(a.clientId, old);
    for (const s of sockets) assert.deepEqual(s.sent.map((m) => m.event).filter((e) => e === 'ack' || e === 'resume'), []);
  } finally {
    await px.close();
    await srv.stop();
  }
});

test('close 4000 (removed by an operator) and 4001 (session taken over) do not reconnect', async () => {
  const admin = await freePort();
  const srv = await startServer(['--admin-addr', `127.0.0.1:${admin}`]);
  try {
    const removed = connect(srv.url);
    await removed.join('resume-codes');
    const closed = next(removed, 'close');
    const res = await fetch(`http://127.0.0.1:${admin}/v1/clients/${removed.clientId}`, { method: 'DELETE' });
    assert.equal(res.status, 204);
    assert.deepEqual(await closed, { code: 4000, reason: 'removed by an operator', willReconnect: false });
    assert.equal(removed.state, 'closed');

    // Another connection takes the session over with its token.
    const taken = connect(srv.url);
    await taken.join('resume-codes');
    await eventually(() => assert.equal(taken.lastSeq > 0, true));
    const takenClosed = next(taken, 'close');
    const thief = new WS(srv.url, 'webrtc-signaling');
    const replies = [];
    thief.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      replies.push(msg.event);
      if (msg.event === 'client-id') {
        thief.send(JSON.stringify({ event: 'resume', data: { clientId: taken.clientId, resumeToken: taken.resumeToken, lastSeq: taken.lastSeq } }));
      }
    };
    assert.deepEqual(await takenClosed, { code: 4001, reason: 'session taken over', willReconnect: false });
    assert.equal(taken.state, 'closed');
    assert.deepEqual(replies, ['client-id', 'resumed']);
    thief.close(1000);
  } finally {
    await srv.stop();
  }
});

test('room-closed: the room is forgotten, and a later reconnect does not rejoin it', async () => {
  const admin = await freePort();
  const srv = await startServer(['--admin-addr', `127.0.0.1:${admin}`]);
  const px = await proxy(srv.port);
  try {
    const { ws, sockets } = recording();
    const a = connect(px.url, { WebSocket: ws, resume: false });
    await a.join('resume-closed');
    const err = next(a, 'error');
    const left = next(a, 'room-left');
    assert.equal((await fetch(`http://127.0.0.1:${admin}/v1/rooms/resume-closed`, { method: 'DELETE' })).status, 204);
    assert.equal((await err).code, 'room-closed');
    await left;
    assert.equal(a.roomId, null);
    const reopened = next(a, 'open');
    px.cut();
    assert.equal((await reopened).reconnected, true);
    await a.ping();
    assert.equal(a.roomId, null);
    assert.deepEqual(sockets.at(-1).sent.map((m) => m.event), ['ping']);
  } finally {
    await px.close();
    await srv.stop();
  }
});

// An HS256 room token (docs/protocol.md, Access tokens).
function mint(secret, room, ttl = 60) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ room, exp: Math.floor(Date.now() / 1000) + ttl })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

test('token functions are called at each connect and each join, and a fallback gets fresh ones', async () => {
  const secret = 'resume-test-secret-0123456789abcdef';
  const srv = await startServer(['--auth-secret', secret, '--resume-grace', '0']);
  const px = await proxy(srv.port);
  try {
    const { ws, sockets } = recording();
    const urlTokens = [];
    const joinTokens = [];
    const a = connect(px.url, {
      WebSocket: ws,
      token: async () => {
        urlTokens.push(mint(secret, 'lobby'));
        return urlTokens.at(-1);
      },
    });
    await a.ready;
    await a.join('resume-auth', {
      token: () => {
        joinTokens.push(mint(secret, 'resume-auth'));
        return joinTokens.at(-1);
      },
    });
    const rejoined = next(a, 'room-joined');
    px.cut();
    await rejoined;
    assert.equal(urlTokens.length, 2);
    assert.equal(joinTokens.length, 2);
    assert.deepEqual(
      sockets.map((s) => new URL(s.url_).searchParams.get('token')),
      urlTokens,
    );
    assert.deepEqual(
      sockets.map((s) => s.sent.find((m) => m.event === 'join-room')?.data.token),
      joinTokens,
    );
  } finally {
    await px.close();
    await srv.stop();
  }
});

test('connections refused for their token 3 times in a row end the client with unauthorized', async () => {
  const srv = await startServer(['--auth-secret', 'resume-test-secret-0123456789abcdef']);
  try {
    let calls = 0;
    const c = connect(srv.url, { token: () => `bad.token.${++calls}` });
    const closes = collect(c, 'close');
    const err = await next(c, 'error', 10000);
    assert.equal(err.code, 'unauthorized');
    assert.match(err.message, /3 times in a row/);
    assert.deepEqual(closes, [
      { code: 1006, reason: 'cannot connect', willReconnect: true },
      { code: 1006, reason: 'cannot connect', willReconnect: true },
      { code: 1006, reason: 'unauthorized', willReconnect: false },
    ]);
    assert.equal(calls, 3);
    assert.equal(c.state, 'closed');
    await assert.rejects(c.ready, { code: 'unauthorized' });
  } finally {
    await srv.stop();
  }
});

test('an unreachable server is not a refusal: a client with a token keeps trying', async () => {
  const port = await freePort(); // nothing listens there
  let calls = 0;
  const c = connect(`ws://127.0.0.1:${port}/`, { token: () => `t${++calls}` });
  const tries = collect(c, 'reconnecting');
  await eventually(() => assert.ok(tries.length >= 5));
  assert.equal(c.state, 'reconnecting');
  assert.ok(calls >= 5);
  c.close();
});

test('a token function that throws is reported, and the connect is retried', async () => {
  const srv = await startServer();
  try {
    let calls = 0;
    const c = connect(srv.url, {
      token: () => {
        if (++calls === 1) throw new Error('backend down');
        return 'a.b.c';
      },
    });
    const err = await next(c, 'error');
    assert.equal(err.code, 'token-failed');
    assert.match(err.message, /backend down/);
    await c.ready;
    assert.equal(calls, 2);
  } finally {
    await srv.stop();
  }
});
