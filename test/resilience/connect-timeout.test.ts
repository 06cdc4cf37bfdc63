/**
 * An endpoint whose connect never completes (a node gone dark, a full
 * listen queue): after connectTimeout the request goes to another endpoint,
 * and when there is none the client gets a 504 Status, not a hang.
 *
 * The stalled endpoint is real: a listener with a backlog of one, owned by a
 * worker thread whose event loop is blocked so it never accepts. Two idle
 * connections fill its accept queue; from then on Linux drops every SYN to it,
 * and a connect to it neither succeeds nor fails.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

const STALLED_HOST = '127.0.0.9';
const CONNECT_TIMEOUT_MS = 200;

interface StalledListener {
  port: number;
  close(): Promise<void>;
}

async function startStalledListener(host: string): Promise<StalledListener> {
  const wake = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const server = require('node:net').createServer();
     server.listen({ host: workerData.host, port: 0, backlog: 1 }, () => {
       parentPort.postMessage(server.address().port);
       // Block this thread's event loop: the listener stays open but nothing accepts.
       setImmediate(() => { Atomics.wait(workerData.wake, 0, 0); server.close(); parentPort.close(); });
     });`,
    { eval: true, workerData: { host, wake } },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  const fillers: net.Socket[] = [];
  for (let connected = 0; connected < 2;) {
    const socket = net.connect(port, host);
    fillers.push(socket);
    const ok = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
    });
    if (ok) connected++;
  }
  // Proof the queue is full: a third connect must not complete.
  const probe = net.connect(port, host);
  const probed = await new Promise<string>((resolve) => {
    probe.once('connect', () => resolve('connected'));
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    setTimeout(() => resolve('stalled'), 300);
  });
  probe.destroy();
  assert.equal(probed, 'stalled', 'connects to the full listener stall');
  return {
    port,
    async close() {
      fillers.forEach((s) => s.destroy());
      Atomics.store(wake, 0, 1);
      Atomics.notify(wake, 0);
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

function serviceOn(name: string, endpoints: { ip: string; port: number }[]) {
  // One port per slice: the stalled listener and the echo server do not share a port number.
  return [
    service('team-a', name, [{ name: 'http', port: 80 }]),
    ...endpoints.map((e, i) =>
      endpointSlice('team-a', name, [{ ip: e.ip }], [{ name: 'http', port: e.port }], {
        name: `${name}-${i}`,
      }),
    ),
  ];
}

function get(url: string): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body, ms: performance.now() - started }));
      })
      .on('error', reject);
  });
}

let stalled: StalledListener;
let echo: EchoServer;
let h: Harness;

before(async () => {
  stalled = await startStalledListener(STALLED_HOST);
  echo = await startEchoServer({ host: '127.0.0.2', name: 'echo' });
  h = await startHarness({
    objects: [
      ...serviceOn('pair', [
        { ip: STALLED_HOST, port: stalled.port },
        { ip: '127.0.0.2', port: echo.port },
      ]),
      ...serviceOn('dark', [{ ip: STALLED_HOST, port: stalled.port }]),
    ],
    config: {
      upstream: {
        allowedAddresses: ['127.0.0.0/8'],
        connectTimeout: `${CONNECT_TIMEOUT_MS}ms`,
        // Round-robin, never eject: requests keep meeting the stalled endpoint first.
        loadBalancing: { policy: 'round-robin', outlierDetection: { consecutiveFailures: 10_000 } },
      },
    },
  });
});

after(async () => {
  await h?.close();
  await echo?.close();
  await stalled?.close();
});

test('a connect that times out is retried on another endpoint', async () => {
  const replies = [];
  for (let i = 0; i < 6; i++)
    replies.push(await get(`${h.url}/api/v1/namespaces/team-a/services/pair:http/proxy/x`));
  assert.deepEqual(
    replies.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
  );
  assert.equal(echo.requests.length, 6, 'the healthy endpoint answered all six');
  const waited = replies.filter((r) => r.ms >= CONNECT_TIMEOUT_MS).length;
  assert.ok(
    waited >= 1,
    'requests that met the stalled endpoint waited out the connect timeout, then went elsewhere',
  );
  assert.ok(Math.max(...replies.map((r) => r.ms)) < CONNECT_TIMEOUT_MS + 1000, 'but no longer');
});

test('with only the stalled endpoint the client gets a 504 Status promptly', async () => {
  const reply = await get(`${h.url}/api/v1/namespaces/team-a/services/dark:http/proxy/x`);
  assert.equal(reply.status, 504);
  const status = JSON.parse(reply.body) as { kind: string; code: number; reason: string; message: string };
  assert.equal(status.kind, 'Status');
  assert.equal(status.code, 504);
  assert.equal(status.reason, 'Timeout');
  assert.match(status.message, /error trying to reach service: connect timeout/);
  assert.ok(
    reply.ms >= CONNECT_TIMEOUT_MS - 5,
    `waited for the connect timeout (${Math.round(reply.ms)} ms)`,
  );
  assert.ok(reply.ms < CONNECT_TIMEOUT_MS + 1000, `answered promptly (${Math.round(reply.ms)} ms)`);
});
