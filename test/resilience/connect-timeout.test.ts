/**
 * An endpoint whose connect never completes (a node gone dark, a full
 * listen queue): after connectTimeout the request goes to another endpoint,
 * and when there is none the client gets a 504 Status, not a hang. The same
 * deadline holds for a WebSocket upgrade (which is never retried).
 *
 * The stalled endpoint is real (test/support/stalled-listener.ts): Linux
 * drops every SYN to it, so a connect to it neither succeeds nor fails. Only
 * the gateway's connect timer ends such a connect: the Status message and the
 * retry counters show that it did, without a stopwatch.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { echoRoundTrip } from '../support/websocket.js';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { startStalledListener, type StalledListener } from '../support/stalled-listener.js';
import { rawRequest } from '../security/support/raw.js';

const STALLED_HOST = '127.0.0.9';
const CONNECT_TIMEOUT_MS = 200;

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

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

const metric = async (name: string) =>
  Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${h.adminURL}/metrics`)).text())?.[1]);

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
      ...serviceOn('lit', [{ ip: '127.0.0.2', port: echo.port }]),
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
  const [errorsBefore, retriesBefore] = [
    await metric('kube_bastion_upstream_connect_errors_total'),
    await metric('kube_bastion_upstream_retries_total'),
  ];
  const replies = [];
  for (let i = 0; i < 6; i++)
    replies.push(await get(`${h.url}/api/v1/namespaces/team-a/services/pair:http/proxy/x`));
  assert.deepEqual(
    replies.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
  );
  assert.equal(echo.requests.length, 6, 'the healthy endpoint answered all six');
  // Round-robin sends every other first attempt to the stalled endpoint: it timed out, and was retried.
  const timedOut = (await metric('kube_bastion_upstream_connect_errors_total')) - errorsBefore;
  assert.ok(timedOut >= 3, `connects to the stalled endpoint timed out (${timedOut})`);
  assert.equal(
    (await metric('kube_bastion_upstream_retries_total')) - retriesBefore,
    timedOut,
    'each was retried',
  );
});

test('with only the stalled endpoint the client gets a 504 Status', async () => {
  const reply = await get(`${h.url}/api/v1/namespaces/team-a/services/dark:http/proxy/x`);
  assert.equal(reply.status, 504);
  const status = JSON.parse(reply.body) as { kind: string; code: number; reason: string; message: string };
  assert.equal(status.kind, 'Status');
  assert.equal(status.code, 504);
  assert.equal(status.reason, 'Timeout');
  assert.match(status.message, /error trying to reach service: connect timeout/);
});

test('a WebSocket upgrade to the stalled endpoint gets a 504 Status; both connections close', async () => {
  const host = new URL(h.url).host;
  const reply = await rawRequest(
    h.url,
    `GET /api/v1/namespaces/team-a/services/dark:http/proxy/ws HTTP/1.1\r\nHost: ${host}\r\n` +
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    60_000, // the gateway answers and closes; this is only a hang guard
  );
  assert.equal(reply.status, 504, reply.text);
  const status = JSON.parse(reply.body) as { kind: string; code: number; reason: string; message: string };
  assert.equal(status.kind, 'Status');
  assert.equal(status.code, 504);
  assert.equal(status.reason, 'Timeout');
  assert.match(status.message, /^error trying to reach service: connect timeout/);
  assert.ok(reply.closed, 'the client connection is closed');
  await eventually(() => assert.equal(stalled.pendingConnects(), 0, 'the upstream connect is abandoned'));

  // The gateway is still healthy: a WebSocket and a plain request to a live endpoint go through.
  const echo = await echoRoundTrip(
    `${h.url.replace('http', 'ws')}/api/v1/namespaces/team-a/services/lit:http/proxy/ws`,
  );
  assert.deepEqual(echo, { first: 'hello from echo /ws', reply: 'echo:ping' });
  assert.equal((await get(`${h.url}/api/v1/namespaces/team-a/services/lit:http/proxy/x`)).status, 200);
});
