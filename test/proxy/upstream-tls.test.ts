/**
 * `https:` targets: not verified by default (as the apiserver), verified
 * against a CA when the admin asks for it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { startHarness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';
import { createTestCA } from '../support/tls.js';

let secure: EchoServer;
let caFile: string;
let otherCAFile: string;
const objects = () => [
  service('team-a', 'tls', [{ name: 'https', port: 443 }]),
  endpointSlice('team-a', 'tls', [{ ip: '127.0.0.6' }], [{ name: 'https', port: secure.port }]),
];
const PATH = '/api/v1/namespaces/team-a/services/https:tls:/proxy/x';

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

test('verification on, with the CA that issued the backend certificate: the request goes through', async () => {
  const h = await startHarness({
    objects: objects(),
    config: { upstream: { allowedAddresses: ['127.0.0.0/8'], tls: { verify: true, caFile } } },
  });
  try {
    const r = await send(h.url, 'GET', PATH);
    assert.equal(r.status, 200, r.body);
    assert.equal(secure.last()?.url, '/x');
  } finally {
    await h.close();
  }
});

test('verification on, with another CA: 503 and nothing reaches the backend', async () => {
  const h = await startHarness({
    objects: objects(),
    config: { upstream: { allowedAddresses: ['127.0.0.0/8'], tls: { verify: true, caFile: otherCAFile } } },
  });
  try {
    const before = secure.requests.length;
    const r = await send(h.url, 'GET', PATH);
    assert.equal(r.status, 503);
    assert.match(JSON.parse(r.body).message, /^error trying to reach service: /);
    assert.equal(secure.requests.length, before);
  } finally {
    await h.close();
  }
});
