/**
 * responseHeaderTimeout measures the upstream's thinking time, not the
 * client's upload: a body that takes longer to send than the timeout still
 * gets its answer, while an upstream that then stays silent gets a 504. The
 * test tells "longer than the timeout" by another request timing out meanwhile.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { endpointSlice, service } from '../support/fake-apiserver.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { startHarness, type Harness } from '../support/gateway-harness.js';
import { send } from '../support/http.js';

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

/** A chunked POST the test feeds by hand; `answer` settles with the response. */
function upload(path: string) {
  let answered = false;
  const req = http.request(`${h.url}${path}`, { method: 'POST', agent: false });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
  });
  return { req, answer, answered: () => answered };
}

/**
 * Resolves once responseHeaderTimeout has certainly passed on the gateway since now: a request
 * started now to a silent upstream has got its 504.
 */
async function aTimeoutLater(): Promise<void> {
  const r = await send(h.url, 'GET', `${WEB}/hang`);
  assert.equal(r.status, 504);
}

test('an upload slower than responseHeaderTimeout is answered', async () => {
  const up = upload(`${WEB}/upload`);
  up.req.write('part0;');
  await aTimeoutLater(); // a request that began after this upload has already timed out …
  assert.equal(up.answered(), false, '… while the upload, still going, was not cut');
  for (let i = 1; i < 8; i++) up.req.write(`part${i};`);
  up.req.end();
  const r = await up.answer;
  assert.equal(r.status, 200);
  assert.equal(
    (JSON.parse(r.body) as { body: string }).body,
    'part0;part1;part2;part3;part4;part5;part6;part7;',
  );
});

test('after the upload, an upstream that stays silent gets a 504', async () => {
  const up = upload(`${WEB}/hang`);
  up.req.write('part0;');
  await aTimeoutLater();
  assert.equal(up.answered(), false, 'no 504 while the body is still coming');
  up.req.end('part1;');
  const r = await up.answer;
  assert.equal(r.status, 504, 'responseHeaderTimeout counts from the end of the body');
});
