/**
 * The streaming edges of the proxy over real sockets: WebSocket upgrades
 * (with their query string, unlike the apiserver), failed upgrades that must
 * close, a client that goes away mid-request, and endpoint churn steering
 * traffic (how fast is the bench's "traffic shift" row, not a test).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { request } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { startStalledListener } from '../support/stalled-listener.js';
import { send } from '../support/http.js';
import { openSocket as openWebSocket } from '../support/websocket.js';
import { rawRequest } from '../security/support/raw.js';

let h: Harness;
let a: EchoServer;
let b: EchoServer;
/** The gateway's access-log lines, as an operator reads them. */
const accessLog: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(line: Buffer, _enc, done) {
      const entry = JSON.parse(line.toString()) as Record<string, unknown>;
      if (entry.msg === 'request') accessLog.push(entry);
      done();
    },
  }),
);
const logOf = (reqId: string) => accessLog.find((e) => e.reqId === reqId);
const WEB = '/api/v1/namespaces/team-a/services/web:http/proxy';

before(async () => {
  a = await startEchoServer({ host: '127.0.0.2', name: 'a' });
  b = await startEchoServer({ host: '127.0.0.3', port: a.port, name: 'b' });
  h = await startHarness({
    logger,
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'web', [{ ip: '127.0.0.2' }], [{ name: 'http', port: a.port }], {
        name: 'web-1',
      }),
      service('team-a', 'dead', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'dead', [{ ip: '127.0.0.5' }], [{ name: 'http', port: 1 }]),
    ],
  });
});

after(async () => {
  await h?.close();
  await Promise.all([a?.close(), b?.close()]);
});

const openSocket = (path: string, headers: Record<string, string> = {}) =>
  openWebSocket(h.url.replace('http', 'ws') + path, headers);

test('a WebSocket upgrade is relayed both ways and keeps its query string (kubernetes#77142)', async () => {
  const { ws, first } = await openSocket(`${WEB}/ws?follow=true&container=app`);
  assert.equal(first, 'hello from a /ws?follow=true&container=app');
  const reply = new Promise<string>((r) => ws.once('message', (m: Buffer) => r(m.toString())));
  ws.send('ping');
  assert.equal(await reply, 'echo:ping');
  const seen = a.requests.find((r) => r.upgrade)!;
  assert.equal(seen.headers['x-forwarded-uri'], `${WEB}/ws`);
  assert.equal(seen.headers.authorization, undefined);
  ws.close();
});

test('an upgrade the backend refuses comes back as its status, and the connection is closed (CVE-2018-1002105)', async () => {
  await assert.rejects(openSocket(`${WEB}/status/403`), /HTTP 403/);
});

test('an upgrade to a dead endpoint gets a Status error, not a hang', async () => {
  await assert.rejects(openSocket('/api/v1/namespaces/team-a/services/dead/proxy/'), /HTTP 503/);
});

test('only WebSocket upgrades are proxied', async () => {
  const r = await send(h.url, 'GET', `${WEB}/`, { connection: 'Upgrade', upgrade: 'SPDY/3.1' });
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body).message, /only WebSocket upgrades/);
});

test('a client that goes away cancels its upstream request', async () => {
  const before = a.requests.length;
  const u = new URL(h.url);
  const req = request({
    host: u.hostname,
    port: u.port,
    path: `${WEB}/hang`,
    headers: { 'x-request-id': 'gone-mid-forward' },
    agent: false,
  });
  req.on('error', () => {});
  req.end();
  await a.waitFor(before + 1);
  const upstreamRequest = a.requests.at(-1)!;
  assert.equal(upstreamRequest.url, '/hang');
  req.destroy();
  await eventually(() => assert.equal(upstreamRequest.aborted, true));
  // Not the 200 a response object starts with: nginx's "client closed request".
  await eventually(() => assert.equal(logOf('gone-mid-forward')?.status, 499));
  assert.equal(logOf('gone-mid-forward')?.bytes, 0);
});

const upgradeRequest = (path: string, host: string, extra = '') =>
  `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n${extra}` +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

/** The gateway's in-flight gauge, as an operator scrapes it. */
async function inFlight(harness: Harness): Promise<number> {
  const text = await (await fetch(`${harness.adminURL}/metrics`)).text();
  return Number(/^kube_bastion_requests_in_flight (\d+)$/m.exec(text)?.[1]);
}

test('a client that leaves while its SubjectAccessReview is pending is not forwarded (POST or upgrade)', async () => {
  const rbac = await startHarness({
    logger,
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'web', [{ ip: '127.0.0.2' }], [{ name: 'http', port: a.port }]),
    ],
    config: { authorization: { kubernetesRBAC: { enabled: true } } },
    api: {
      grants: [{ user: 'system:anonymous', namespace: 'team-a', resource: 'services/proxy', verbs: ['*'] }],
    },
  });
  try {
    const reviews = rbac.api.hold({ resource: 'subjectaccessreviews' }); // answered when the test says
    const u = new URL(rbac.url);
    const before = a.requests.length;
    const post = request({
      host: u.hostname,
      port: u.port,
      method: 'POST',
      path: `${WEB}/hang?who=post`,
      headers: { 'content-type': 'text/plain', 'content-length': '5', 'x-request-id': 'gone-during-review' },
      agent: false,
    });
    post.on('error', () => {});
    post.end('hello');
    // Another name than the POST's ("web" vs "web:http"): its own review, not a shared one.
    const upgrade = connect(Number(u.port), u.hostname);
    upgrade.on('error', () => {});
    upgrade.write(upgradeRequest('/api/v1/namespaces/team-a/services/web/proxy/ws?who=upgrade', u.host));
    await eventually(() => assert.equal(reviews.waiting(), 2));
    post.destroy();
    upgrade.destroy();

    reviews.release(); // both reviews now answer "allowed"
    const answered = () =>
      rbac.api.requests.filter((r) => r.resource === 'subjectaccessreviews' && r.status !== 0).length;
    await eventually(() => assert.equal(answered(), 2));
    // Control: a client that waits for its review is forwarded. Its review is the POST's (same
    // attributes), answered from the cache: the gateway has read that answer by now.
    const r = await send(rbac.url, 'POST', `${WEB}/stayed`, { 'content-type': 'text/plain' }, 'hello');
    assert.equal(r.status, 200, r.body);
    assert.equal(
      rbac.api.count({ resource: 'subjectaccessreviews' }),
      2,
      'the control used the cached answer',
    );
    assert.deepEqual(
      a.requests.slice(before).map((x) => x.url),
      ['/stayed'],
      'nothing of the clients that left reached the backend',
    );
    await eventually(async () => assert.equal(await inFlight(rbac), 0), undefined, 20);
    assert.equal(logOf('gone-during-review')?.status, 499);
  } finally {
    await rbac.close();
  }
});

test('a client that leaves while its upgrade is still connecting upstream is logged as 499, and the connect is dropped', async () => {
  const stalled = await startStalledListener('127.0.0.13');
  const slow = await startHarness({
    logger,
    objects: [
      service('team-a', 'stalled', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'stalled', [{ ip: stalled.host }], [{ name: 'http', port: stalled.port }]),
    ],
    // A connect timeout no test waits for: only the client leaving can end these requests.
    config: { upstream: { allowedAddresses: ['127.0.0.0/8'], connectTimeout: '10m' } },
  });
  try {
    const u = new URL(slow.url);
    // A client that closes (FIN) and one that resets (RST): both left before any answer.
    const leaves: [string, (s: Socket) => void][] = [
      ['left-while-connecting-fin', (s) => s.destroy()],
      ['left-while-connecting-rst', (s) => s.resetAndDestroy()],
    ];
    for (const [id, leave] of leaves) {
      const client = connect(Number(u.port), u.hostname);
      client.on('error', () => {});
      client.write(
        upgradeRequest(
          '/api/v1/namespaces/team-a/services/stalled/proxy/ws',
          u.host,
          `X-Request-Id: ${id}\r\n`,
        ),
      );
      await eventually(() => assert.equal(stalled.pendingConnects(), 1, 'the gateway is connecting'));
      leave(client);
      // Not the 101 of an upgrade that never happened: nginx's "client closed request", when the
      // client left (the connect timeout is ten minutes away).
      await eventually(() => assert.equal(logOf(id)?.status, 499));
      assert.equal(logOf(id)?.bytes, 0);
      await eventually(() => assert.equal(stalled.pendingConnects(), 0, 'the upstream connect is dropped'));
    }
  } finally {
    await slow.close();
    await stalled.close();
  }
});

test('an upgrade to a backend that accepts and never answers gets a 504 Status within responseHeaderTimeout', async () => {
  // Accepts the TCP connection, reads the upgrade request, says nothing.
  const held = new Set<Socket>();
  const silent = createServer((socket) => {
    held.add(socket);
    socket.resume(); // reads (and drops) what comes, so it sees the gateway hang up
    socket.on('close', () => held.delete(socket));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.4', r));
  const port = (silent.address() as { port: number }).port;
  const quiet = await startHarness({
    objects: [
      service('team-a', 'quiet', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'quiet', [{ ip: '127.0.0.4' }], [{ name: 'http', port }]),
      service('team-a', 'web', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'web', [{ ip: '127.0.0.2' }], [{ name: 'http', port: a.port }]),
    ],
    config: { upstream: { allowedAddresses: ['127.0.0.0/8'], responseHeaderTimeout: '300ms' } },
  });
  try {
    const reply = await rawRequest(
      quiet.url,
      upgradeRequest('/api/v1/namespaces/team-a/services/quiet/proxy/ws', new URL(quiet.url).host),
      60_000, // the gateway answers and closes; only a hang guard
    );
    assert.equal(reply.status, 504, reply.text);
    const status = JSON.parse(reply.body) as { kind: string; code: number; message: string };
    assert.equal(status.kind, 'Status');
    assert.equal(status.code, 504);
    assert.match(status.message, /^error trying to reach service: .*timeout awaiting response headers/);
    assert.ok(reply.closed, 'the client connection is closed');
    await eventually(() => assert.equal(held.size, 0, 'the backend connection is closed'));

    // The gateway is still healthy: a working WebSocket and a plain request go through.
    const ws = new WebSocket(`${quiet.url.replace('http', 'ws')}${WEB}/ws`);
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (m: Buffer) => resolve(m.toString()));
      ws.once('error', reject);
    });
    assert.match(first, /^hello from a/);
    ws.close();
    assert.equal((await send(quiet.url, 'GET', `${WEB}/ok`)).status, 200);
  } finally {
    await quiet.close();
    for (const socket of held) socket.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test('endpoint churn: an added and a removed endpoint both steer traffic', async () => {
  const servedBy = async () => (await send(h.url, 'GET', `${WEB}/who`)).headers['x-served-by'];
  assert.equal(await servedBy(), 'a');

  h.api.upsert(
    endpointSlice(
      'team-a',
      'web',
      [{ ip: '127.0.0.2' }, { ip: '127.0.0.3' }],
      [{ name: 'http', port: a.port }],
      { name: 'web-1' },
    ),
  );
  await eventually(async () => {
    const seen = new Set<unknown>();
    for (let i = 0; i < 6; i++) seen.add(await servedBy());
    assert.ok(seen.has('b'));
  });

  h.api.upsert(
    endpointSlice('team-a', 'web', [{ ip: '127.0.0.3' }], [{ name: 'http', port: a.port }], {
      name: 'web-1',
    }),
  );
  await eventually(async () => {
    for (let i = 0; i < 6; i++) assert.equal(await servedBy(), 'b');
  });
});
