/**
 * One access-log line per request, the gateway's own pages included: an
 * operator debugging a sign-in loop or a broken portal reads the same stream
 * as for proxied traffic.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { captureLogs } from '../security/support/log-capture.js';
import { eventually } from '../support/eventually.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

const log = captureLogs('info');
/** The access-log lines so far, as an operator reads them. */
const accessLines = () =>
  log
    .lines()
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'request');
let h: Harness;

before(async () => {
  h = await startHarness({ logger: log.logger });
});
after(() => h.close());

test('gateway pages get an access-log line with their path, status, size and kind "page"', async () => {
  const res = await fetch(`${h.url}/.well-known/jwks.json?x=1`, { headers: { 'x-request-id': 'jwks-1' } });
  const body = await res.arrayBuffer();
  assert.equal(res.status, 200);
  const missing = await fetch(`${h.url}/no-such-page`, { headers: { 'x-request-id': 'missing-1' } });
  await missing.arrayBuffer();

  await eventually(() => accessLines().some((l) => l.reqId === 'missing-1'));
  const jwks = accessLines().find((l) => l.reqId === 'jwks-1')!;
  assert.deepEqual(
    [jwks.method, jwks.path, jwks.kind, jwks.status, jwks.bytes],
    ['GET', '/.well-known/jwks.json', 'page', 200, body.byteLength],
  );
  assert.equal(typeof jwks.ms, 'number');
  const notFound = accessLines().find((l) => l.reqId === 'missing-1')!;
  assert.deepEqual([notFound.path, notFound.status], ['/no-such-page', 404]);
});
