/**
 * TCP tunnels at the gateway, as a plain WebSocket client sees them: bytes
 * both ways with a half-close, every refusal as a Status before the upgrade
 * (and never a dial), and the ends a client must be able to tell apart — a
 * whole stream (1000), a backend that cannot be reached (1014), a backend that
 * breaks mid-stream (1011). What the audit trail and /metrics say about each.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import { deterministicBytes, sha256 } from './support/backends.js';
import { END_MESSAGE, TUNNEL_SUBPROTOCOL } from '../../src/proxy/tunnel/protocol.js';
import { openRaw, refusal } from './support/raw-tunnel.js';
import { NS, startTunnelWorld, type TunnelWorld } from './support/world.js';

/** Where the gateway says it lives: the origin its own pages (and path-form apps) are served from. */
const PUBLIC_URL = 'https://bastion.example.com';

let w: TunnelWorld;
before(async () => {
  w = await startTunnelWorld({ config: { publicURL: PUBLIC_URL } });
});
after(() => w?.close());

const auditOf = (requestId: unknown) => w.audit().filter((e) => e.requestId === requestId);

describe('a tunnel carries a TCP stream', () => {
  test('1 MiB up, our end, and the backend’s answer down: both ends go through, then close 1000', async () => {
    const t = await openRaw(w.h.url, `${NS}/services/sink:9/portforward`, w.alice);
    const data = deterministicBytes(1024 * 1024);
    for (let at = 0; at < data.length; at += 60_000) t.send(data.subarray(at, at + 60_000));
    t.end(); // the sink answers only once it saw our FIN
    await t.ended;
    assert.equal(t.received().toString(), `${sha256(data)}\n`);
    assert.deepEqual(await t.closed, { code: 1000, reason: 'closed' });
  });

  test('the audit trail: an open event naming the endpoint, a close event with bytes each way and why', async () => {
    // The tunnel's own request ID (the gateway keeps a well-formed X-Request-Id): an earlier test's
    // events, which the audit stream may write late, can never stand in for this one's.
    const id = `audit-trail-${randomUUID()}`;
    const t = await openRaw(w.h.url, `${NS}/services/echo:7/portforward`, w.alice, {
      headers: { 'x-request-id': id },
    });
    t.send('hello');
    await eventually(() => t.received().toString() === 'hello');
    t.end();
    await t.ended;
    await t.closed;
    let events: Record<string, unknown>[] = [];
    await eventually(() => {
      events = auditOf(id);
      return events.length === 2;
    });
    const [open, close] = events;
    assert.equal(open.user, 'alice');
    assert.equal(open.verb, 'create');
    assert.equal(open.kind, 'services');
    assert.equal(open.subresource, 'portforward');
    assert.equal(open.name, 'echo');
    assert.equal(open.upstream, `${w.echo.host}:${w.echo.port}`);
    assert.deepEqual(open.tunnel, { event: 'open' });
    assert.equal(close.status, 101);
    const summary = close.tunnel as Record<string, unknown>;
    assert.equal(summary.event, 'close');
    assert.equal(summary.endedBy, 'client-closed');
    assert.equal(summary.closeCode, 1000);
    assert.equal(summary.bytesToBackend, 5);
    assert.equal(summary.bytesToClient, 5);
  });

  test('a pod, by named container port and by its first declared port', async () => {
    for (const segment of ['echo-0:tcp', 'echo-0']) {
      const t = await openRaw(w.h.url, `${NS}/pods/${segment}/portforward`, w.alice);
      t.send(`via ${segment}`);
      await eventually(() => t.received().toString() === `via ${segment}`);
      t.ws.close();
    }
  });

  test('frames a client sends with its handshake, before the 101, are relayed, not lost', async () => {
    // Not what a client should do (RFC 6455 has it wait for the 101), but nothing of it may vanish.
    const masked = (opcode: number, text: string) => {
      const payload = Buffer.from(text);
      const mask = Buffer.from([1, 2, 3, 4]);
      return Buffer.concat([
        Buffer.from([0x80 | opcode, 0x80 | payload.length]),
        mask,
        payload.map((b, i) => b ^ mask[i % 4]),
      ]);
    };
    const { hostname, port } = new URL(w.h.url);
    const socket = net.connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const request =
      `GET ${NS}/services/echo:7/portforward HTTP/1.1\r\nHost: ${hostname}:${port}\r\n` +
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Protocol: ${TUNNEL_SUBPROTOCOL}\r\n` +
      `Authorization: Bearer ${w.alice}\r\n\r\n`;
    socket.write(Buffer.concat([Buffer.from(request), masked(0x2, 'early bytes'), masked(0x1, END_MESSAGE)]));
    try {
      // The echo backend answers with what it got and its FIN: our bytes, then the end message.
      await eventually(() => Buffer.concat(chunks).includes(END_MESSAGE));
      const text = Buffer.concat(chunks).toString('latin1');
      assert.match(text, /^HTTP\/1\.1 101 /);
      assert.ok(text.indexOf('early bytes') < text.indexOf(END_MESSAGE), text);
    } finally {
      socket.destroy();
    }
  });

  test('/metrics: tunnels open, opens by result, bytes each way, closes by reason', async () => {
    const before = await w.metric('kube_bastion_tunnel_bytes_total', { direction: 'to-backend' });
    const t = await openRaw(w.h.url, `${NS}/services/echo:7/portforward`, w.alice);
    await eventually(async () => (await w.metric('kube_bastion_tunnels_open')) === 1);
    t.send('x'.repeat(1000));
    await eventually(() => t.received().length === 1000);
    t.end();
    await t.closed;
    await eventually(async () => (await w.metric('kube_bastion_tunnels_open')) === 0);
    assert.equal(
      (await w.metric('kube_bastion_tunnel_bytes_total', { direction: 'to-backend' })) - before,
      1000,
    );
    assert.ok((await w.metric('kube_bastion_tunnel_opens_total', { result: 'connected' })) >= 1);
    assert.ok((await w.metric('kube_bastion_tunnel_closes_total', { reason: 'client-closed' })) >= 1);
  });
});

describe('refused before the upgrade, with the same Status as HTTP, and nothing dialled', () => {
  const cases: {
    name: string;
    path: string;
    token?: 'alice' | 'bob' | 'none';
    status: number;
    message: string | RegExp;
  }[] = [
    {
      name: 'no credentials',
      path: `${NS}/services/echo:7/portforward`,
      token: 'none',
      status: 401,
      message: 'Unauthorized',
    },
    {
      name: 'GET on services/proxy does not grant a tunnel',
      path: `${NS}/services/echo:7/portforward`,
      token: 'bob',
      status: 403,
      message:
        'services "echo" is forbidden: User "bob" cannot create resource "services/portforward" in API group "" in the namespace "team-a"',
    },
    {
      name: 'an unknown Service',
      path: `${NS}/services/nope:7/portforward`,
      status: 404,
      message: 'services "nope" not found',
    },
    {
      name: 'a port the Service does not have',
      path: `${NS}/services/echo:99/portforward`,
      status: 503,
      message: 'no service port 99 found for service "echo"',
    },
    {
      name: 'a backend port tunnels.ports does not allow',
      path: `${NS}/services/closed:13/portforward`,
      status: 403,
      message: 'tunnels to port 1023 are not allowed on this gateway (tunnels.ports)',
    },
    {
      name: 'a scheme means nothing to a tunnel',
      path: `${NS}/services/https:echo:7/portforward`,
      status: 400,
      message: 'invalid service request "https:echo:7"',
    },
    {
      name: 'nodes have no tunnels',
      path: '/api/v1/nodes/node-1/portforward',
      status: 404,
      message: /not find/,
    },
    {
      name: 'nothing may follow portforward',
      path: `${NS}/services/echo:7/portforward/x`,
      status: 404,
      message: /not find/,
    },
  ];
  for (const c of cases) {
    test(`${c.name}: ${c.status}`, async () => {
      const dials = w.echo.accepted;
      const token = c.token === 'none' ? undefined : c.token === 'bob' ? w.bob : w.alice;
      const r = await refusal(w.h.url, c.path, token);
      assert.equal(r.status, c.status);
      assert.equal(r.body.kind, 'Status');
      if (typeof c.message === 'string') assert.equal(r.body.message, c.message);
      else assert.match(r.body.message ?? '', c.message);
      assert.equal(w.echo.accepted, dials, 'no connection reached the backend');
    });
  }

  test('a plain GET (no upgrade) is told a tunnel is a WebSocket: 400', async () => {
    const res = await fetch(`${w.h.url}${NS}/services/echo:7/portforward`, {
      headers: { authorization: `Bearer ${w.alice}` },
    });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /^Upgrade request required/);
  });

  // A page served through the path form shares the gateway's origin (publicURL) and the person's
  // cookie: the cross-site check lets that origin's WebSockets through, a tunnel refuses it too.
  for (const [what, header] of [
    ['the gateway’s own Origin', () => ({ origin: PUBLIC_URL })],
    ['another site’s Origin', () => ({ origin: 'https://evil.example' })],
    ['Origin: null (a sandboxed page)', () => ({ origin: 'null' })],
    ['a hybi-08 Sec-WebSocket-Origin', () => ({ 'sec-websocket-origin': 'https://evil.example' })],
  ] as const) {
    test(`a web page cannot open a tunnel: ${what} is 403 before any dial`, async () => {
      const dials = w.echo.accepted;
      const r = await refusal(w.h.url, `${NS}/services/echo:7/portforward`, w.alice, header());
      assert.equal(r.status, 403);
      assert.match(r.body.message ?? '', /^a tunnel cannot be opened from a web page/);
      assert.equal(w.echo.accepted, dials);
    });
  }

  test('refusals are counted by result', async () => {
    assert.ok((await w.metric('kube_bastion_tunnel_opens_total', { result: 'forbidden' })) >= 2);
    assert.ok((await w.metric('kube_bastion_tunnel_opens_total', { result: 'not-found' })) >= 1);
  });
});

describe('the ends a client must tell apart', () => {
  test('no endpoint accepts the connection: close 1014 with the reason, no byte', async () => {
    const t = await openRaw(w.h.url, `${NS}/services/refused:5432/portforward`, w.alice);
    t.send('early bytes wait while the backend is dialled');
    const closed = await t.closed;
    assert.equal(closed.code, 1014);
    assert.match(closed.reason, /^cannot connect to the backend: .*ECONNREFUSED/);
    assert.equal(t.received().length, 0);
    assert.ok((await w.metric('kube_bastion_tunnel_opens_total', { result: 'backend-unreachable' })) >= 1);
  });

  test('the backend dies mid-stream: close 1011, never an end message (no silent truncation)', async () => {
    const t = await openRaw(w.h.url, `${NS}/services/dying:11/portforward`, w.alice);
    t.send('go');
    let endSeen = false;
    void t.ended.then(() => (endSeen = true));
    const closed = await t.closed;
    assert.equal(closed.code, 1011);
    assert.match(closed.reason, /^backend connection failed: ECONNRESET/);
    assert.equal(endSeen, false);
    assert.ok(t.received().length <= 64 * 1024);
  });

  test('the client goes away mid-stream: the backend connection is dropped, not left open', async () => {
    const open = w.echo.open();
    const t = await openRaw(w.h.url, `${NS}/services/echo:7/portforward`, w.alice);
    t.send('hi');
    await eventually(() => t.received().length === 2);
    assert.equal(w.echo.open(), open + 1);
    t.ws.terminate();
    await eventually(() => w.echo.open() === open);
  });
});

describe('tunnels switched off', () => {
  let off: TunnelWorld;
  before(async () => {
    off = await startTunnelWorld({ config: { tunnels: { enabled: false } } });
  });
  after(() => off?.close());

  test('403 for everyone, before any rule is consulted or anything dialled', async () => {
    const r = await refusal(off.h.url, `${NS}/services/echo:7/portforward`, off.alice);
    assert.equal(r.status, 403);
    assert.equal(
      r.body.message,
      'services "echo" is forbidden: User "alice" cannot create resource "services/portforward" in API group "" in the namespace "team-a": TCP tunnels are disabled on this gateway',
    );
    assert.equal(off.echo.accepted, 0);
  });
});

describe('tunnels count against upstream.maxUpgradesPerUser, with the user’s WebSockets', () => {
  let few: TunnelWorld;
  before(async () => {
    few = await startTunnelWorld({ config: { upstream: { maxUpgradesPerUser: 2 } } });
  });
  after(() => few?.close());

  test('past the limit a 429 before any dial, for that user only; a closed one frees its place', async () => {
    const path = `${NS}/services/echo:7/portforward`;
    const first = await openRaw(few.h.url, path, few.alice);
    const second = await openRaw(few.h.url, path, few.alice);
    await eventually(() => few.echo.accepted === 2); // both dialled their backend
    const dials = few.echo.accepted;
    const third = await refusal(few.h.url, path, few.alice);
    assert.equal(third.status, 429);
    assert.match(
      third.body.message ?? '',
      /too many open WebSocket connections and tunnels for this user \(2\)/,
    );
    assert.equal(few.echo.accepted, dials, 'the refused one dialled nothing');

    const carol = await openRaw(few.h.url, path, await few.mint('carol', ['devs']));
    carol.ws.close();
    await carol.closed;

    first.ws.close();
    await first.closed;
    const again = await eventuallyOpen(few.h.url, path, few.alice);
    for (const t of [second, again]) {
      t.ws.close();
      await t.closed;
    }
  });
});

/** Opens once the gateway has seen the earlier close (its count is released on the socket's close). */
async function eventuallyOpen(base: string, path: string, token: string) {
  let opened: Awaited<ReturnType<typeof openRaw>> | undefined;
  await eventually(async () => {
    opened = await openRaw(base, path, token).catch(() => undefined);
    return opened !== undefined;
  });
  return opened!;
}
