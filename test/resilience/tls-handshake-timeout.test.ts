/**
 * An `https:` endpoint that accepts the TCP connection and never completes the
 * TLS handshake (a wedged process, a plain-TCP port named https) is as
 * unreachable as one that never accepts: upstream.connectTimeout covers the
 * handshake, the request goes to another endpoint, and when there is none the
 * client gets a 504 Status naming the handshake, for requests with a body and
 * WebSocket upgrades too. What shows the deadline at work is the order of
 * events (the mute endpoint held the gateway's connection, then the client got
 * its answer, then the gateway hung up) and the Status message, not a stopwatch.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';
import { createTestCA } from '../support/tls.js';
import { rawRequest } from '../security/support/raw.js';

const MUTE_HOST = '127.0.0.11';
const TLS_HOST = '127.0.0.12';
const CONNECT_TIMEOUT_MS = 200;
const PAIR = '/api/v1/namespaces/team-a/services/https:pair:/proxy';
const MUTE = '/api/v1/namespaces/team-a/services/https:mute:/proxy';

let mute: Server;
/** Connections the mute backend holds open. */
const held = new Set<Socket>();
/** Connections the mute backend ever accepted. */
let accepted = 0;
let secure: EchoServer;
let h: Harness;

function serviceOn(name: string, endpoints: { ip: string; port: number }[]) {
  // One port per slice: the two backends do not share a port number.
  return [
    service('team-a', name, [{ name: 'https', port: 443 }]),
    ...endpoints.map((e, i) =>
      endpointSlice('team-a', name, [{ ip: e.ip }], [{ name: 'https', port: e.port }], {
        name: `${name}-${i}`,
      }),
    ),
  ];
}

/** A reply, with how many connections the mute endpoint had accepted by the time it came. */
async function answered<R extends object>(request: Promise<R>): Promise<R & { muteAccepted: number }> {
  const reply = await request;
  return { ...reply, muteAccepted: accepted };
}

before(async () => {
  // Accepts the TCP connection, reads the ClientHello, says nothing.
  mute = createServer((socket) => {
    held.add(socket);
    accepted++;
    socket.resume();
    socket.on('close', () => held.delete(socket));
  });
  await new Promise<void>((r) => mute.listen(0, MUTE_HOST, r));
  const mutePort = (mute.address() as { port: number }).port;
  const ca = await createTestCA();
  secure = await startEchoServer({ host: TLS_HOST, name: 'secure', tls: await ca.issue([TLS_HOST]) });
  h = await startHarness({
    objects: [
      ...serviceOn('pair', [
        { ip: MUTE_HOST, port: mutePort },
        { ip: TLS_HOST, port: secure.port },
      ]),
      ...serviceOn('mute', [{ ip: MUTE_HOST, port: mutePort }]),
    ],
    config: {
      upstream: {
        allowedAddresses: ['127.0.0.0/8'],
        connectTimeout: `${CONNECT_TIMEOUT_MS}ms`,
        // Not the deadline at work here: its message differs ("timeout awaiting response headers").
        responseHeaderTimeout: '30s',
        // Round-robin, never eject: requests keep meeting the mute endpoint first.
        loadBalancing: { policy: 'round-robin', outlierDetection: { consecutiveFailures: 10_000 } },
      },
    },
  });
});

after(async () => {
  await h?.close();
  await secure?.close();
  for (const socket of held) socket.destroy();
  await new Promise((r) => mute?.close(r));
});

// A hang would be caught by the test timeout: before the fix the client waited for ever.
test('a TLS handshake that times out is retried on another endpoint, with or without a body', async () => {
  const before = secure.requests.length;
  const acceptedBefore = accepted;
  const replies = [];
  for (let i = 0; i < 3; i++) {
    replies.push(await send(h.url, 'GET', `${PAIR}/get-${i}`));
    replies.push(
      await send(h.url, 'POST', `${PAIR}/post-${i}`, { 'content-type': 'text/plain' }, `body-${i}`),
    );
  }
  assert.deepEqual(
    replies.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
    replies.map((r) => r.body).join('\n'),
  );
  const reached = secure.requests.slice(before);
  assert.deepEqual(
    reached.map((r) => `${r.method} ${r.url} ${r.body}`),
    [
      'GET /get-0 ',
      'POST /post-0 body-0',
      'GET /get-1 ',
      'POST /post-1 body-1',
      'GET /get-2 ',
      'POST /post-2 body-2',
    ],
    'the healthy endpoint answered all six, each body whole',
  );
  // Round-robin sends every other first attempt to the mute endpoint: those were retried.
  assert.ok(accepted - acceptedBefore >= 3, `the mute endpoint was tried (${accepted - acceptedBefore})`);
  await eventually(() => assert.equal(held.size, 0, 'the gateway hung up on the mute endpoint'));
});

test('with only the mute endpoint the client gets a 504 Status naming the handshake (GET and POST)', async () => {
  for (const request of [
    () => send(h.url, 'GET', `${MUTE}/x`),
    () => send(h.url, 'POST', `${MUTE}/x`, { 'content-type': 'text/plain' }, 'hello'),
  ]) {
    const acceptedBefore = accepted;
    const reply = await answered(request());
    assert.equal(reply.status, 504, reply.body);
    const status = JSON.parse(reply.body) as { kind: string; code: number; reason: string; message: string };
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'Timeout');
    assert.equal(status.message, 'error trying to reach service: TLS handshake timeout');
    assert.equal(
      reply.muteAccepted,
      acceptedBefore + 1,
      'the gateway was connected to the mute endpoint first',
    );
  }
  await eventually(() => assert.equal(held.size, 0, 'the gateway hung up on the mute endpoint'));
});

test('a WebSocket upgrade to the mute endpoint gets a 504 Status after the connect timeout', async () => {
  const acceptedBefore = accepted;
  const reply = await answered(
    rawRequest(
      h.url,
      `GET ${MUTE}/ws HTTP/1.1\r\nHost: ${new URL(h.url).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      60_000,
    ),
  );
  assert.equal(reply.status, 504, reply.text);
  assert.equal(
    reply.muteAccepted,
    acceptedBefore + 1,
    'the gateway was connected to the mute endpoint first',
  );
  const status = JSON.parse(reply.body) as { kind: string; message: string };
  assert.equal(status.kind, 'Status');
  assert.equal(status.message, 'error trying to reach service: TLS handshake timeout');
  assert.ok(reply.closed, 'the client connection is closed');
  await eventually(() => assert.equal(held.size, 0, 'the gateway hung up on the mute endpoint'));
});
