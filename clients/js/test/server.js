// Starts the real redrtc binary for the SDK's tests: $REDRTC_BIN when set
// (the Go test that runs these sets it), else one built here with go build.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

let built = null;

/**
 * The WebSocket the tests use: Node.js's own (20 with --experimental-websocket,
 * 22 and later), else the ws package's, a dev dependency, passed in as
 * options.WebSocket as an application on an older Node.js would.
 */
export const WS = globalThis.WebSocket ?? (await import('ws')).WebSocket;

/** The node flags a child process needs for the same WebSocket. */
export const wsFlags = process.execArgv.filter((a) => a === '--experimental-websocket');

function binary() {
  if (process.env.REDRTC_BIN) return process.env.REDRTC_BIN;
  if (!built) {
    built = join(mkdtempSync(join(tmpdir(), 'redrtc-sdk-')), 'redrtc');
    const root = fileURLToPath(new URL('../../..', import.meta.url));
    execFileSync('go', ['build', '-o', built, './cmd/redrtc'], { cwd: root, stdio: 'inherit' });
  }
  return built;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls check until it returns without throwing, for at most ms. */
export async function eventually(check, ms = 10000, every = 20) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, every));
    }
  }
}

/**
 * Starts redrtc on 127.0.0.1 (on port, or a free one) with extra flags;
 * resolves once /healthz answers. stop() ends it with SIGTERM and waits.
 */
export async function startServer(flags = [], port = 0) {
  port ||= await freePort();
  const proc = spawn(binary(), ['-i', '127.0.0.1', '-p', String(port), ...flags], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (b) => (stderr += b));
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  let gone = false;
  exited.then(() => (gone = true));
  await eventually(async () => {
    if (gone) throw new Error(`redrtc exited: ${stderr}`);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    if (!res.ok) throw new Error(`healthz ${res.status}`);
  });
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    async stop() {
      if (!gone) proc.kill('SIGTERM');
      await exited;
    },
    stderr: () => stderr,
    signal(sig) {
      if (!gone) proc.kill(sig);
    },
  };
}

/** Resolves with the data of client's next event, or rejects after ms. */
export function next(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const off = emitter.once(event, (data) => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}
