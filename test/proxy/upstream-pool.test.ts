/**
 * The upstream pools: one per endpoint, reused, bounded, dropped once their
 * endpoint goes unused, and the dial policy asked again at dial time.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { UpstreamPools } from '../../src/proxy/upstream-pool.js';
import { eventually } from '../support/eventually.js';

let server: http.Server;
let port: number;
const open = new Set<Socket>();
let accepted = 0;

before(async () => {
  server = http.createServer((_req, res) => res.end('ok'));
  server.on('connection', (s: Socket) => {
    accepted++;
    open.add(s);
    s.once('close', () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function pools(extra: Partial<ConstructorParameters<typeof UpstreamPools>[0]> = {}) {
  let t = 0;
  const p = new UpstreamPools({
    connectTimeoutMs: 2000,
    idleTimeoutMs: 60_000,
    responseHeaderTimeoutMs: 5000,
    tls: { verify: false },
    now: () => t,
    ...extra,
  });
  return { p, advance: (ms: number) => (t += ms) };
}

async function get(p: UpstreamPools, ip = '127.0.0.1'): Promise<string> {
  const r = await p.get('http', ip, port).request({ method: 'GET', path: '/' });
  return r.body.text();
}

test('one pool per endpoint: sequential requests reuse kept-alive connections', async () => {
  const { p } = pools();
  const before = accepted;
  try {
    for (let i = 0; i < 20; i++) assert.equal(await get(p), 'ok');
    assert.equal(p.get('http', '127.0.0.1', port), p.get('http', '127.0.0.1', port));
    assert.equal(p.size, 1);
    // undici waits one event-loop turn before reusing a connection (idle-socket validation): a
    // request sent at once after the first answer may open a second one, and no more.
    assert.ok(accepted - before <= 2, `twenty requests, ${accepted - before} upstream connections`);
  } finally {
    p.close();
  }
});

test('a pool unused for an idle period is dropped and its connections closed', async () => {
  const { p, advance } = pools();
  try {
    assert.equal(await get(p), 'ok');
    assert.ok(open.size >= 1);
    advance(30_000);
    p.sweep();
    assert.equal(p.size, 1, 'used within the idle period: kept');
    advance(60_001);
    p.sweep();
    assert.equal(p.size, 0, 'the endpoint went unused: its pool is gone');
    await eventually(() => open.size === 0);
    // The pool remembered on an Endpoint object is not handed out once dropped.
    const endpoint = { ip: '127.0.0.1', port };
    const first = p.forEndpoint('http', endpoint);
    assert.equal(p.forEndpoint('http', endpoint), first);
    advance(60_001);
    p.sweep();
    assert.notEqual(p.forEndpoint('http', endpoint), first, 'dropped: a new pool');
    assert.equal(p.size, 1);
  } finally {
    p.close();
  }
});

test('the map is bounded: past maxPools the least recently used pool goes', () => {
  const { p, advance } = pools({ maxPools: 2 });
  try {
    const a = p.get('http', '127.0.0.1', port);
    advance(1);
    p.get('http', '127.0.0.2', port);
    advance(1);
    assert.equal(p.get('http', '127.0.0.1', port), a, 'used again: now the most recent');
    advance(1);
    p.get('http', '127.0.0.3', port);
    assert.equal(p.size, 2);
    assert.equal(p.get('http', '127.0.0.1', port), a, 'the most recently used stayed');
  } finally {
    p.close();
  }
});

test('the dial policy is asked when a connection is dialled: a refused address is never connected', async () => {
  const asked: string[] = [];
  const { p } = pools({ mayDial: (ip) => (asked.push(ip), ip !== '127.0.0.1') });
  const before = accepted;
  try {
    await assert.rejects(get(p), (err: NodeJS.ErrnoException) => err.code === 'EADDRNOTALLOWED');
    assert.deepEqual(asked, ['127.0.0.1']);
    assert.equal(accepted, before, 'no connection reached the server');
  } finally {
    p.close();
  }
});
