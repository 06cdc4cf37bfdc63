/**
 * Two parsers that disagree: node's llhttp in front, and whatever the
 * upstream runs — here a raw-socket upstream with a parser of its own
 * (support/hostile-upstream.ts), as lenient upstreams are. Every spelling of
 * framing, every line ending and byte a lenient parser might read otherwise,
 * HTTP/1.0 keep-alive and pipelining after a refusal: the gateway either
 * refuses the request or sends exactly one request upstream, framed by
 * itself, with the body exactly as the client framed it and nothing left
 * over on the connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import type { ReceivedRequest } from './support/hostile-upstream.js';
import { HOSTILE, startHostileWorld, type HostileWorld } from './support/hostile-world.js';
import { rawRequest } from './support/raw.js';
import { NS_B } from './support/world.js';

let hw: HostileWorld;
before(
  async () => {
    hw = await startHostileWorld();
  },
  { timeout: 60_000 },
);
after(async () => {
  await hw?.close();
});

let n = 0;
/** A fresh upstream path per case, so what reached the upstream is told apart. */
const fresh = (name: string) => `/pd-${++n}-${name.replace(/\W+/g, '-').slice(0, 40)}`;
const head = (method: string, path: string, fields: string[], version = '1.1') =>
  [
    `${method} ${HOSTILE}${path} HTTP/${version}`,
    `Host: ${new URL(hw.w.h.url).host}`,
    `Authorization: Bearer ${hw.w.alice}`,
    ...fields,
  ].join('\r\n') + '\r\n\r\n';
const chunk = (s: string) => `${s.length.toString(16)}\r\n${s}\r\n`;
/** A complete second request for the upstream, as a smuggler would hide it. */
const SMUGGLED = (path: string) =>
  `GET ${path}-smuggled HTTP/1.1\r\nHost: x\r\nX-Forwarded-User: system:admin\r\n\r\n`;

/** Upstream requests whose path starts with `path`. */
const reached = (path: string): ReceivedRequest[] => hw.up.requests.filter((r) => r.path.startsWith(path));

/** The value of `name` in a received head (every line with that name, any case). */
const field = (r: ReceivedRequest, name: string) =>
  r.head
    .split('\r\n')
    .slice(1)
    .filter((l) => l.slice(0, l.indexOf(':')).toLowerCase() === name)
    .map((l) => l.slice(l.indexOf(':') + 1).trim());

/** Exactly one request upstream, framed once, with `body`; nothing smuggled, nothing left on its connection. */
function assertOneFramed(path: string, body: string): void {
  const got = reached(path);
  assert.equal(got.length, 1, `one request upstream: ${got.map((r) => r.path).join(', ')}`);
  const r = got[0];
  assert.equal(r.body.toString('latin1'), body);
  const lengths = field(r, 'content-length');
  const codings = field(r, 'transfer-encoding');
  assert.equal(lengths.length + codings.length, 1, `one framing header: ${r.head}`);
  if (codings.length) assert.deepEqual(codings, ['chunked']);
  else assert.deepEqual(lengths, [String(Buffer.byteLength(body, 'latin1'))]);
  for (const spelling of ['transfer_encoding', 'content_length', 'transfer-encoding ', 'x-forwarded-user'])
    assert.ok(
      !field(r, spelling).some((v) => v.includes('chunked') || /^\d+$/.test(v) || v === 'system:admin'),
      `${spelling} reached the upstream`,
    );
  assert.deepEqual(
    hw.up.partial().filter((p) => p.connection === r.connection),
    [],
    'no bytes left over',
  );
}

/** The statuses of every response on the connection (a body without a newline runs into the next one). */
const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));

const nothingReached = (path: string) => assert.deepEqual(reached(path), [], 'nothing reached the upstream');

describe('framing spellings: refused by the front parser, or re-framed', () => {
  const refused: [string, (p: string) => string][] = [
    ['Content-Length: +5', (p) => head('POST', p, ['Content-Length: +5']) + 'hello'],
    ['Content-Length: 5,5', (p) => head('POST', p, ['Content-Length: 5,5']) + 'hello'],
    ['Content-Length: 5, 5', (p) => head('POST', p, ['Content-Length: 5, 5']) + 'hello'],
    ['Content-Length: 0x5', (p) => head('POST', p, ['Content-Length: 0x5']) + 'hello'],
    [
      'a Content-Length past 2^64',
      (p) => head('POST', p, ['Content-Length: 99999999999999999999']) + 'hello',
    ],
    [
      'Transfer-Encoding with a trailing tab',
      (p) => head('POST', p, ['Transfer-Encoding: chunked\t']) + chunk('hello') + '0\r\n\r\n',
    ],
    [
      'Transfer-Encoding twice',
      (p) =>
        head('POST', p, ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked']) +
        chunk('hello') +
        '0\r\n\r\n',
    ],
    [
      'chunked, gzip',
      (p) => head('POST', p, ['Transfer-Encoding: chunked, gzip']) + chunk('hello') + '0\r\n\r\n',
    ],
    [
      'identity, chunked (llhttp reads it as chunked; a proxy must not)',
      (p) => head('POST', p, ['Transfer-Encoding: identity, chunked']) + chunk('hello') + '0\r\n\r\n',
    ],
    [
      'a chunk size past 2^64',
      (p) =>
        head('POST', p, ['Transfer-Encoding: chunked']) +
        `fffffffffffffffff5\r\nhello\r\n0\r\n\r\n${SMUGGLED(p)}`,
    ],
    [
      'a negative chunk size',
      (p) => head('POST', p, ['Transfer-Encoding: chunked']) + '-5\r\nhello\r\n0\r\n\r\n',
    ],
    ['a 0x chunk size', (p) => head('POST', p, ['Transfer-Encoding: chunked']) + '0x5\r\nhello\r\n0\r\n\r\n'],
    [
      'a space after the chunk size',
      (p) => head('POST', p, ['Transfer-Encoding: chunked']) + '5 \r\nhello\r\n0\r\n\r\n',
    ],
    [
      'a bare LF inside a chunk extension',
      (p) => head('POST', p, ['Transfer-Encoding: chunked']) + '5;a\nb\r\nhello\r\n0\r\n\r\n',
    ],
    [
      'a 20 KB chunk extension',
      (p) =>
        head('POST', p, ['Transfer-Encoding: chunked']) + `5;${'a'.repeat(20_000)}\r\nhello\r\n0\r\n\r\n`,
    ],
    ['bare LF after chunk sizes', (p) => head('POST', p, ['Transfer-Encoding: chunked']) + '5\nhello\n0\n\n'],
    [
      'Content-Length in the trailers',
      (p) =>
        head('POST', p, ['Transfer-Encoding: chunked']) +
        chunk('hello') +
        `0\r\nContent-Length: 50\r\n\r\n${SMUGGLED(p)}`,
    ],
    [
      'bare LF line endings in the head',
      (p) => head('POST', p, ['Content-Length: 5']).replaceAll('\r\n', '\n') + 'hello',
    ],
    ['a bare LF before one header', (p) => head('GET', p, ['X-A: a\nX-Forwarded-User: system:admin'])],
    ['a DEL in a header value', (p) => head('GET', p, ['X-A: a\x7fb'])],
    ['a NUL in a header name', (p) => head('GET', p, ['X\x00A: b'])],
    [
      'a tab before the colon',
      (p) => head('GET', p, ['Transfer-Encoding\t: chunked']) + chunk('hello') + '0\r\n\r\n',
    ],
    ['a lower-case method', (p) => head('get', p, [])],
  ];
  for (const [name, bytes] of refused) {
    test(`${name}: 400, nothing upstream`, async () => {
      const path = fresh(name);
      const reply = await rawRequest(hw.w.h.url, bytes(path));
      assert.deepEqual(statuses(reply.text), [400], reply.text);
      nothingReached(path);
    });
  }

  const reframed: [string, (p: string) => { wire: string; body: string }][] = [
    [
      'Content-Length: 05',
      (p) => ({
        wire: head('POST', p, ['Content-Length: 05', 'Connection: close']) + 'hello',
        body: 'hello',
      }),
    ],
    [
      'Transfer-Encoding: Chunked',
      (p) => ({
        wire:
          head('POST', p, ['Transfer-Encoding: Chunked', 'Connection: close']) + chunk('hello') + '0\r\n\r\n',
        body: 'hello',
      }),
    ],
    [
      'chunk extensions, quoted and bare',
      (p) => ({
        wire:
          head('POST', p, ['Transfer-Encoding: chunked', 'Connection: close']) +
          '5;a=b;c="d;e"\r\nhello\r\n0;z\r\n\r\n',
        body: 'hello',
      }),
    ],
    [
      'trailers naming identity and framing',
      (p) => ({
        wire:
          head('POST', p, [
            'Transfer-Encoding: chunked',
            'Trailer: X-Forwarded-User, Transfer-Encoding',
            'Connection: close',
          ]) +
          chunk('hello') +
          '0\r\nX-Forwarded-User: system:admin\r\nX-Other: 1\r\n\r\n',
        body: 'hello',
      }),
    ],
    [
      'Transfer_Encoding (an upstream that maps _ to - would see CL.TE)',
      (p) => ({
        wire:
          head('POST', p, ['Transfer_Encoding: chunked', 'Content-Length: 5', 'Connection: close']) + 'hello',
        body: 'hello',
      }),
    ],
    [
      'Content_Length next to Transfer-Encoding',
      (p) => ({
        wire:
          head('POST', p, ['Content_Length: 40', 'Transfer-Encoding: chunked', 'Connection: close']) +
          chunk('hello') +
          '0\r\n\r\n',
        body: 'hello',
      }),
    ],
    [
      'a GET whose chunked body is a request',
      (p) => ({
        wire:
          head('GET', p, ['Transfer-Encoding: chunked', 'Connection: close']) +
          chunk(SMUGGLED(p)) +
          '0\r\n\r\n',
        body: SMUGGLED(p),
      }),
    ],
    [
      'obs-text in a header value',
      (p) => ({
        wire: head('POST', p, ['X-A: a\xffb', 'Content-Length: 2', 'Connection: close']) + 'hi',
        body: 'hi',
      }),
    ],
  ];
  for (const [name, make] of reframed) {
    test(`${name}: one request upstream, framed by the gateway`, async () => {
      const path = fresh(name);
      const { wire, body } = make(path);
      const reply = await rawRequest(hw.w.h.url, wire);
      assert.equal(reply.status, 200, reply.text);
      assertOneFramed(path, body);
      assert.equal(hw.up.last(`${path}-smuggled`), undefined);
    });
  }
});

describe('HTTP/1.0 and keep-alive', () => {
  test('a keep-alive HTTP/1.0 request, then a pipelined one for another namespace: each authorized on its own', async () => {
    const path = fresh('http10-keepalive');
    const second = `GET ${NS_B}/services/web:http/proxy${path}-b HTTP/1.0\r\nAuthorization: Bearer ${hw.w.alice}\r\n\r\n`;
    const reply = await rawRequest(hw.w.h.url, head('GET', path, ['Connection: keep-alive'], '1.0') + second);
    assert.deepEqual(statuses(reply.text), [200, 403], reply.text);
    assert.equal(reached(path).length, 1);
    assert.deepEqual(hw.w.forbiddenSeen(), []);
  });
  test('an HTTP/1.0 POST without a length has no body: what follows is a request of its own, never its body', async () => {
    const path = fresh('http10-nobody');
    const reply = await rawRequest(
      hw.w.h.url,
      head('POST', path, ['Connection: keep-alive'], '1.0') + SMUGGLED(path),
    );
    // The rest was read as a request of its own (for a path the gateway does not serve: its own 404).
    assert.deepEqual(statuses(reply.text), [200, 404], reply.text);
    const [r] = reached(path);
    assert.equal(r.body.length, 0);
    assert.deepEqual(field(r, 'content-length'), ['0']);
    assert.equal(hw.up.last(`${path}-smuggled`), undefined);
  });
});

describe('pipelining after a refused request', () => {
  const unauthenticated = (method: string, path: string, fields: string[]) =>
    `${method} ${HOSTILE}${path} HTTP/1.1\r\nHost: ${new URL(hw.w.h.url).host}\r\n${fields.join('\r\n')}\r\n\r\n`;

  test('a refused body is skipped as a body: the request inside it is never served, the next one is', async () => {
    const path = fresh('refused-cl');
    const inner = head('GET', `${path}-inner`, []);
    const next = head('GET', `${path}-next`, ['Connection: close']);
    const reply = await rawRequest(
      hw.w.h.url,
      unauthenticated('POST', path, [`Content-Length: ${inner.length}`]) + inner + next,
    );
    assert.deepEqual(statuses(reply.text), [401, 200], reply.text);
    assert.match(reply.text, /ok$/);
    nothingReached(`${path}-inner`);
    assert.deepEqual(
      hw.up.requests.filter((r) => r.path.startsWith(path)).map((r) => r.path),
      [`${path}-next`],
    );
  });

  test('a refused chunked body is skipped the same way', async () => {
    const path = fresh('refused-chunked');
    const inner = head('GET', `${path}-inner`, []);
    const reply = await rawRequest(
      hw.w.h.url,
      unauthenticated('POST', path, ['Transfer-Encoding: chunked']) +
        chunk(inner) +
        '0\r\n\r\n' +
        head('GET', `${path}-next`, ['Connection: close']),
    );
    assert.deepEqual(statuses(reply.text), [401, 200], reply.text);
    assert.deepEqual(
      hw.up.requests.filter((r) => r.path.startsWith(path)).map((r) => r.path),
      [`${path}-next`],
    );
  });

  test('refused before its 100 Continue: the connection closes, the body is never read as a request', async () => {
    const path = fresh('refused-expect');
    const inner = head('GET', `${path}-inner`, []);
    const reply = await rawRequest(
      hw.w.h.url,
      unauthenticated('POST', path, [`Content-Length: ${inner.length}`, 'Expect: 100-continue']) + inner,
    );
    assert.deepEqual(statuses(reply.text), [401], reply.text);
    assert.ok(reply.closed);
    nothingReached(path);
  });

  test('a request the front parser refuses ends the connection: nothing pipelined after it is served', async () => {
    const path = fresh('refused-parser');
    const reply = await rawRequest(
      hw.w.h.url,
      head('POST', path, ['Content-Length: 5,5']) + 'hello' + head('GET', `${path}-next`, []),
    );
    assert.deepEqual(statuses(reply.text), [400], reply.text);
    await eventually(() => reply.closed, 1000);
    nothingReached(path);
  });
});
