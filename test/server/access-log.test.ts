/**
 * One access-log line per request, the gateway's own pages included: an
 * operator debugging a sign-in loop or a broken portal reads the same stream
 * as for proxied traffic.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { pino } from 'pino';
import { eventually } from '../support/eventually.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

const lines: Record<string, unknown>[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(line: Buffer, _enc, done) {
      const entry = JSON.parse(line.toString()) as Record<string, unknown>;
      if (entry.msg === 'request') lines.push(entry);
      done();
    },
  }),
);
let h: Harness;

before(async () => {
  h = await startHarness({ logger });
});
after(() => h.close());

test('gateway pages get an access-log line with their path, status, size and kind "page"', async () => {
  const res = await fetch(`${h.url}/.well-known/jwks.json?x=1`, { headers: { 'x-request-id': 'jwks-1' } });
  const body = await res.arrayBuffer();
  assert.equal(res.status, 200);
  const missing = await fetch(`${h.url}/no-such-page`, { headers: { 'x-request-id': 'missing-1' } });
  await missing.arrayBuffer();

  await eventually(() => lines.some((l) => l.reqId === 'missing-1'));
  const jwks = lines.find((l) => l.reqId === 'jwks-1')!;
  assert.deepEqual(
    [jwks.method, jwks.path, jwks.kind, jwks.status, jwks.bytes],
    ['GET', '/.well-known/jwks.json', 'page', 200, body.byteLength],
  );
  assert.equal(typeof jwks.ms, 'number');
  const notFound = lines.find((l) => l.reqId === 'missing-1')!;
  assert.deepEqual([notFound.path, notFound.status], ['/no-such-page', 404]);
});
