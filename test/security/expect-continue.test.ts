/**
 * `Expect: 100-continue` (issue 15): the client holds its body back until the
 * server says 100 Continue. The gateway says it only once the request is
 * authenticated, authorized and its target resolved; a refused request gets
 * its final answer instead, with Connection: close, and its body is never read.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openRawSession } from './support/raw-session.js';
import { NS_B, WEB, startWorld, type World } from './support/world.js';

let w: World;
before(
  async () => {
    w = await startWorld({ config: { upstream: { maxRequestBodyBytes: 1000 } } });
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
});

const head = (path: string, length: number, auth?: string) =>
  [
    `POST ${path} HTTP/1.1`,
    `Host: ${new URL(w.h.url).host}`,
    'Accept: application/json',
    'Content-Type: text/plain',
    `Content-Length: ${length}`,
    'Expect: 100-continue',
    ...(auth ? [`Authorization: Bearer ${auth}`] : []),
  ].join('\r\n') + '\r\n\r\n';

/** Sends only the head; the final answer must come without a 100 and close the connection. */
async function refusedBeforeBody(path: string, auth: string | undefined, status: number): Promise<void> {
  const seen = w.a.requests.length + w.b.requests.length;
  const s = await openRawSession(w.h.url);
  try {
    s.write(head(path, 5, auth));
    const text = await s.closed();
    assert.doesNotMatch(text, /100 Continue/, 'no 100 Continue for a refused request');
    assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `));
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.equal(w.a.requests.length + w.b.requests.length, seen, 'nothing reached an upstream');
  } finally {
    s.close();
  }
}

describe('Expect: 100-continue is answered after admission', () => {
  test('without credentials: 401, no 100, the connection closes', () =>
    refusedBeforeBody(`${WEB}/up`, undefined, 401));
  test('with an invalid token: 401, no 100', () => refusedBeforeBody(`${WEB}/up`, 'not-a-token', 401));
  test('without a grant: 403, no 100', () => refusedBeforeBody(`${WEB}/up`, w.bob, 403));
  test('outside the grant: 403, no 100', () =>
    refusedBeforeBody(`${NS_B}/services/web:http/proxy/up`, w.alice, 403));
  test('a declared body over the limit: 413, no 100', async () => {
    const s = await openRawSession(w.h.url);
    try {
      s.write(head(`${WEB}/up`, 5000, w.alice));
      const text = await s.closed();
      assert.doesNotMatch(text, /100 Continue/);
      assert.match(text, /^HTTP\/1\.1 413 /);
    } finally {
      s.close();
    }
  });
  test('admitted: 100 Continue, then the body reaches the upstream once', async () => {
    const before = w.a.requests.length;
    const s = await openRawSession(w.h.url);
    try {
      s.write(head(`${WEB}/up`, 5, w.alice));
      await s.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
      assert.equal(w.a.requests.length, before, 'nothing upstream before the body');
      s.write('hello');
      const text = await s.until(/\r\n0\r\n\r\n$/);
      assert.match(text, /HTTP\/1\.1 200 OK/);
      assert.equal(w.a.requests.length, before + 1);
      assert.equal(w.a.last()!.body, 'hello');
      assert.equal(w.a.last()!.headers.expect, undefined, 'the expectation was met here, not upstream');
    } finally {
      s.close();
    }
  });
});
