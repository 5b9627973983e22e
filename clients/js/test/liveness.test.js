// What only time or a stalled server shows, against the real redrtc binary:
// the application ping finding a dead socket, and join-timeout. A file of
// its own, so that node --test runs it beside client.test.js.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { RedRTCClient } from '../src/index.js';
import { WS, next, startServer } from './server.js';

test('a server that stops answering is found by the ping, dropped, and the session resumed', async () => {
  const srv = await startServer();
  const c = new RedRTCClient(srv.url, { WebSocket: WS, pingInterval: 200, pingTimeout: 300, minReconnectDelay: 50, maxReconnectDelay: 100 });
  try {
    await c.join('liveness');
    const first = c.clientId;
    // SIGSTOP: the socket stays open (the kernel still acknowledges), and
    // nothing answers: what a dead network path looks like to a browser.
    srv.signal('SIGSTOP');
    const closed = await next(c, 'close', 5000);
    assert.deepEqual(closed, { code: 1006, reason: 'no pong from the server', willReconnect: true });
    const resumed = next(c, 'resumed', 10000);
    srv.signal('SIGCONT');
    assert.deepEqual(await resumed, { clientId: first, roomId: 'liveness', participants: [first], missed: 0, dropped: 0 });
    assert.equal(c.clientId, first);
    assert.equal(c.roomId, 'liveness');
    assert.equal(c.state, 'open');
  } finally {
    srv.signal('SIGCONT');
    c.close();
    await srv.stop();
  }
});

test('join-timeout: the error, then close 1008, and no reconnect', async () => {
  const srv = await startServer(['--join-timeout', '30']);
  const c = new RedRTCClient(srv.url, { WebSocket: WS, minReconnectDelay: 10 });
  try {
    await c.ready;
    const [err, closed] = await Promise.all([next(c, 'error', 40000), next(c, 'close', 40000)]);
    assert.equal(err.code, 'join-timeout');
    assert.equal(err.event, undefined);
    assert.deepEqual(closed, { code: 1008, reason: 'no room joined', willReconnect: false });
    assert.equal(c.state, 'closed');
    await assert.rejects(c.join('late'), { code: 'closed' });
  } finally {
    c.close();
    await srv.stop();
  }
});
