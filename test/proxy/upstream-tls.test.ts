/**
 * `https:` targets: not verified by default (as the apiserver), verified
 * against a CA when the admin asks for it — for requests and WebSocket
 * upgrades alike.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { echoRoundTrip } from '../support/websocket.js';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';
import { createTestCA } from '../support/tls.js';
import { rawRequest } from '../security/support/raw.js';

let secure: EchoServer;
let caFile: string;
let otherCAFile: string;
const objects = () => [
  service('team-a', 'tls', [{ name: 'https', port: 443 }]),
  endpointSlice('team-a', 'tls', [{ ip: '127.0.0.6' }], [{ name: 'https', port: secure.port }]),
];
const PATH = '/api/v1/namespaces/team-a/services/https:tls:/proxy/x';
const WS_PATH = '/api/v1/namespaces/team-a/services/https:tls:/proxy/ws';

/** A gateway that verifies `https:` backends against the CA in `ca`. */
async function verifyingGateway(ca: string, run: (h: Harness) => Promise<void>): Promise<void> {
  const h = await startHarness({
    objects: objects(),
    config: { upstream: { allowedAddresses: ['127.0.0.0/8'], tls: { verify: true, caFile: ca } } },
  });
  try {
    await run(h);
  } finally {
    await h.close();
  }
}

before(async () => {
  const ca = await createTestCA();
  secure = await startEchoServer({ host: '127.0.0.6', tls: await ca.issue(['127.0.0.6']) });
  const dir = mkdtempSync(join(tmpdir(), 'bastion-ca-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, ca.caPem);
  otherCAFile = join(dir, 'other.pem');
  writeFileSync(otherCAFile, (await createTestCA('someone else')).caPem);
});
after(() => secure?.close());

test('verification on, with the CA that issued the backend certificate: the request goes through', () =>
  verifyingGateway(caFile, async (h) => {
    const r = await send(h.url, 'GET', PATH);
    assert.equal(r.status, 200, r.body);
    assert.equal(secure.last()?.url, '/x');
  }));

test('verification on, with another CA: 503 and nothing reaches the backend', () =>
  verifyingGateway(otherCAFile, async (h) => {
    const before = secure.requests.length;
    const r = await send(h.url, 'GET', PATH);
    assert.equal(r.status, 503);
    assert.match(JSON.parse(r.body).message, /^error trying to reach service: /);
    assert.equal(secure.requests.length, before);
  }));

test('a WebSocket upgrade with the CA that issued the backend certificate: wss upstream, echoed both ways', () =>
  verifyingGateway(caFile, async (h) => {
    const { first, reply } = await echoRoundTrip(`${h.url.replace('http', 'ws')}${WS_PATH}`);
    assert.equal(first, 'hello from 127.0.0.6 /ws');
    assert.equal(reply, 'echo:ping');
  }));

test('a WebSocket upgrade with another CA: a 503 Status, a closed connection, nothing reaches the backend', () =>
  verifyingGateway(otherCAFile, async (h) => {
    const before = secure.requests.length;
    const reply = await rawRequest(
      h.url,
      `GET ${WS_PATH} HTTP/1.1\r\nHost: ${new URL(h.url).host}\r\nConnection: Upgrade\r\n` +
        'Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      2000,
    );
    assert.equal(reply.status, 503, reply.text);
    const status = JSON.parse(reply.body) as { kind: string; message: string };
    assert.equal(status.kind, 'Status');
    assert.match(status.message, /^error trying to reach service: /);
    assert.ok(reply.closed);
    assert.equal(secure.requests.length, before);
  }));
