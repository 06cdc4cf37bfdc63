/**
 * responseHeaderTimeout measures the upstream's thinking time, not the
 * client's upload: a body that takes longer to send than the timeout still
 * gets its answer, while an upstream that then stays silent gets a 504.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';

const WEB = '/api/v1/namespaces/team-a/services/web:http/proxy';
let h: Harness;
let a: EchoServer;

before(async () => {
  a = await startEchoServer({ host: '127.0.0.2' });
  h = await startHarness({
    objects: [
      service('team-a', 'web', [{ name: 'http', port: 80 }]),
      endpointSlice('team-a', 'web', [{ ip: '127.0.0.2' }], [{ name: 'http', port: a.port }]),
    ],
    config: { upstream: { allowedAddresses: ['127.0.0.0/8'], responseHeaderTimeout: '300ms' } },
  });
});

after(async () => {
  await h?.close();
  await a?.close();
});

/** POSTs `chunks` pieces, `gapMs` apart, with chunked encoding. */
function slowUpload(path: string, chunks: number, gapMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${h.url}${path}`, { method: 'POST', agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    void (async () => {
      for (let i = 0; i < chunks; i++) {
        req.write(`part${i};`);
        await sleep(gapMs);
      }
      req.end();
    })();
  });
}

test('an upload slower than responseHeaderTimeout is answered', async () => {
  const started = performance.now();
  const r = await slowUpload(`${WEB}/upload`, 8, 100);
  assert.ok(performance.now() - started > 700, 'the upload took longer than the timeout');
  assert.equal(r.status, 200);
  assert.equal(
    (JSON.parse(r.body) as { body: string }).body,
    'part0;part1;part2;part3;part4;part5;part6;part7;',
  );
});

test('after the upload, an upstream that stays silent gets a 504', async () => {
  const started = performance.now();
  const r = await slowUpload(`${WEB}/hang`, 4, 100);
  const took = performance.now() - started;
  assert.equal(r.status, 504);
  assert.ok(
    took > 600 && took < 2000,
    `504 about responseHeaderTimeout after the body was sent (${took} ms)`,
  );
});
