/**
 * Resource exhaustion: slow clients (slowloris) must not starve others and
 * must be cut off; the request body limit holds whatever the framing; a
 * backend that never answers costs a 504, not a hung client.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import { send } from '../support/http.js';
import { assertAftermath, runCase } from './support/cases.js';
import { rawRequest } from './support/raw.js';
import { WEB, startWorld, type World } from './support/world.js';

let w: World;
before(
  async () => {
    w = await startWorld({
      config: {
        listen: { headersTimeout: '2s', requestTimeout: '4s' },
        upstream: { maxRequestBodyBytes: 1024, responseHeaderTimeout: '1s' },
      },
    });
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
});

const auth = () => ({ authorization: `Bearer ${w.alice}` });

/** Opens `n` connections that send a request line and then one header every 250 ms, forever. */
function slowloris(n: number) {
  const { hostname, port } = new URL(w.h.url);
  const sockets: Socket[] = [];
  const closed = new Set<Socket>();
  for (let i = 0; i < n; i++) {
    const s = connect(Number(port), hostname);
    s.on('error', () => undefined);
    s.on('close', () => closed.add(s));
    s.write(`GET ${WEB}/slow HTTP/1.1\r\nHost: x\r\n`);
    sockets.push(s);
  }
  const drip = setInterval(() => sockets.forEach((s) => s.writable && s.write('X-A: b\r\n')), 250);
  return {
    closed: () => closed.size,
    stop() {
      clearInterval(drip);
      sockets.forEach((s) => s.destroy());
    },
  };
}

test('200 slowloris clients do not starve others', async () => {
  const mark = w.log.mark();
  const attack = slowloris(200);
  try {
    for (let i = 0; i < 20; i++) {
      const r = await send(w.h.url, 'GET', `${WEB}/fast${i}`, auth());
      assert.equal(r.status, 200, 'a normal request is served beside the slow clients');
    }
  } finally {
    attack.stop();
  }
  assert.ok(!w.a.requests.some((r) => r.url === '/slow'), 'no slow request reached the upstream');
  await assertAftermath(w, { status: 200, headers: {}, body: '' }, mark);
});

test('slowloris clients are cut off after headersTimeout', {}, async () => {
  const attack = slowloris(50);
  try {
    // They drip a header every 250 ms for ever: only headersTimeout ends them.
    await eventually(
      () => assert.equal(attack.closed(), 50, `${50 - attack.closed()} slow clients still connected`),
      30_000,
      50,
    );
  } finally {
    attack.stop();
  }
});

test('a declared body over the limit is refused before the upstream', () =>
  runCase(w, {
    name: '',
    method: 'POST',
    path: `${WEB}/upload`,
    headers: { 'content-type': 'text/plain' },
    body: 'x'.repeat(2048),
    status: 413,
    shape: 'status',
    reason: 'RequestEntityTooLarge',
    upstream: null,
  }));

test('a body at the limit passes', () =>
  runCase(w, {
    name: '',
    method: 'POST',
    path: `${WEB}/upload`,
    body: 'x'.repeat(1024),
    status: 200,
    shape: 'echo',
    upstream: { url: '/upload', check: (r) => assert.equal(r.body.length, 1024) },
  }));

test('a chunked body over the limit is refused and never reaches the upstream whole', {}, async () => {
  const mark = w.log.mark();
  const before = w.a.requests.length;
  const chunk = 'y'.repeat(512);
  const body = Array.from({ length: 8 }, () => `200\r\n${chunk}\r\n`).join('') + '0\r\n\r\n';
  const reply = await rawRequest(
    w.h.url,
    `POST ${WEB}/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${w.alice}\r\n` +
      `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`,
  );
  assert.equal(reply.status, 413);
  const got = w.a.requests.slice(before);
  assert.ok(
    got.every((r) => r.body.length <= 1024),
    `the upstream received ${got.map((r) => r.body.length).join(', ')} bytes`,
  );
  await assertAftermath(w, { status: reply.status, headers: reply.headers, body: reply.body }, mark);
});

test('a backend that never answers: 504 after responseHeaderTimeout, and others are not held up', async () => {
  const mark = w.log.mark();
  const hangingBefore = w.a.requests.filter((r) => r.url === '/hang').length;
  const hanging = Array.from({ length: 30 }, () =>
    send(w.h.url, 'GET', `${WEB}/hang`, { ...auth(), accept: 'application/json' }),
  );
  // Once all 30 wait at the upstream, a normal request still goes through.
  await eventually(() => w.a.requests.filter((r) => r.url === '/hang').length === hangingBefore + 30);
  const quick = await send(w.h.url, 'GET', `${WEB}/quick`, auth());
  assert.equal(quick.status, 200, 'a normal request is served while 30 hang');
  const replies = await Promise.all(hanging); // a hung client would hit the test timeout
  for (const r of replies) {
    assert.equal(r.status, 504);
    assert.equal((JSON.parse(r.body) as { reason: string }).reason, 'Timeout');
  }
  await assertAftermath(w, replies[0], mark);
});
