/**
 * The WebSocket relay is http-proxy-3, which writes whatever is in the
 * backend's response object to the client: these pin that what it writes was
 * checked and shaped first (upgrade-answer.ts), and that what it sends
 * upstream is exactly the request the plain path would send. Raw bytes on
 * both sides: a scripted upstream, a bare client socket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import { HOSTILE, startHostileWorld, type HostileWorld } from './support/hostile-world.js';
import { rawRequest } from './support/raw.js';
import { openRawSession } from './support/raw-session.js';
import { upgradeRequest } from './support/requests.js';

let hw: HostileWorld;
before(
  async () => {
    // A short response-header deadline: a refusal's body gets no longer than that.
    hw = await startHostileWorld({ upstream: { responseHeaderTimeout: '1s' } });
  },
  { timeout: 60_000 },
);
after(async () => {
  await hw?.close();
});

const upgrade = (path: string, extra: string[] = [], version = '1.1') =>
  upgradeRequest(`${HOSTILE}${path}`, {
    host: new URL(hw.w.h.url).host,
    token: hw.w.alice,
    extra,
    version,
  });

const chunk = (s: string) => `${s.length.toString(16)}\r\n${s}\r\n`;
const closedUpstream = (path: string) =>
  eventually(() => hw.up.closed(hw.up.last(path)!.connection), 5000, 10);

describe('a refusal goes through http-proxy-3 with its head checked and its body bounded', () => {
  test('the backend’s reason phrase is not relayed; gateway cookies and hop-by-hop headers are dropped', async () => {
    hw.up.on(
      '/ws-reason',
      [
        'HTTP/1.1 403 Go away <script>',
        'Set-Cookie: kube_bastion=planted; Path=/',
        'Set-Cookie: app=1',
        'Keep-Alive: timeout=99',
        'Connection: keep-alive, X-Drop',
        'X-Drop: yes',
        'Content-Length: 4',
        '',
        'nope',
      ].join('\r\n'),
    );
    const reply = await rawRequest(hw.w.h.url, upgrade('/ws-reason'));
    assert.match(reply.text, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.equal(reply.body, 'nope');
    assert.match(
      reply.text,
      /\r\nset-cookie: app=1; Path=\/api\/v1\/namespaces\/team-a\/services\/hostile:http\/proxy/i,
    );
    assert.doesNotMatch(reply.text, /kube_bastion|planted/);
    assert.equal(reply.headers['keep-alive'], undefined);
    assert.equal(reply.headers['x-drop'], undefined, 'a name the backend listed in Connection stays behind');
    assert.equal(reply.headers.connection, 'close');
    assert.ok(reply.closed);
    await closedUpstream('/ws-reason');
  });

  test('a chunked refusal is framed again by the gateway and relayed whole', async () => {
    hw.up.on(
      '/ws-chunked',
      `HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('no ')}${chunk('way')}0\r\n\r\n`,
    );
    const reply = await rawRequest(hw.w.h.url, upgrade('/ws-chunked'));
    assert.equal(reply.status, 401);
    assert.equal(reply.headers['transfer-encoding'], 'chunked');
    assert.equal(reply.body, 'no way');
    assert.match(reply.text, /\r\n0\r\n\r\n$/, 'the body ends where it should');
    assert.ok(reply.closed);
    await closedUpstream('/ws-chunked');
  });

  test('a refusal whose unannounced body grows past 64 KiB is cut: both connections close', async () => {
    const piece = 'x'.repeat(16 * 1024);
    hw.up.on(
      '/ws-endless',
      `HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(piece).repeat(6)}0\r\n\r\n`,
    );
    const reply = await rawRequest(hw.w.h.url, upgrade('/ws-endless'));
    assert.equal(reply.status, 403, 'the head was already out');
    assert.ok(reply.closed);
    assert.doesNotMatch(
      reply.text,
      /\r\n0\r\n\r\n$/,
      'the body never completes: the client cannot take it for whole',
    );
    assert.ok(reply.body.length <= 64 * 1024, `${reply.body.length} body bytes relayed`);
    await closedUpstream('/ws-endless');
  });

  test('a refusal whose body never ends is cut at the response-header deadline', async () => {
    hw.up.on('/ws-stalled', `HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('so')}`);
    const s = await openRawSession(hw.w.h.url);
    s.write(upgrade('/ws-stalled'));
    const text = await s.closed(10_000);
    assert.match(text, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.doesNotMatch(text, /\r\n0\r\n\r\n$/);
    await closedUpstream('/ws-stalled');
  });
});

describe('what http-proxy-3 sends upstream is the prepared request', () => {
  test('the path and query go byte for byte, as the plain path sends them', async () => {
    const path = '/a//b;c=%2F/%2e%2E/%252F/x%20y?x=1?y&z=%00&%zz';
    const plain = await hw.call(path);
    assert.equal(plain.status, 200);
    const sent = hw.up.requests.at(-1)!.path;
    assert.match(
      sent,
      /^\/a\/%252F\/x%20y\?x=1\?y&z=%00&%zz$/,
      'cleaned as the apiserver does; the query as it came',
    );
    const reply = await rawRequest(hw.w.h.url, upgrade(path));
    assert.equal(reply.status, 502, 'the scripted upstream answers 200: not an answer to an upgrade');
    assert.equal(hw.up.requests.at(-1)!.path, sent);
  });

  test('an upgrade with Expect and a body: neither reaches the backend, nor do the body’s bytes', async () => {
    const smuggled = 'GET /smuggled-in-body HTTP/1.1\r\nHost: x\r\n\r\n';
    hw.up.on('/ws-expect', 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    const reply = await rawRequest(
      hw.w.h.url,
      upgrade('/ws-expect', ['Expect: 100-continue', `Content-Length: ${smuggled.length}`]) + smuggled,
    );
    assert.equal(reply.status, 404);
    assert.doesNotMatch(reply.text, /100 Continue/);
    const got = hw.up.last('/ws-expect')!;
    assert.doesNotMatch(got.head, /^expect:/im);
    assert.doesNotMatch(got.head, /^content-length:/im);
    assert.doesNotMatch(got.head, /^transfer-encoding:/im);
    assert.equal(got.body.length, 0);
    await closedUpstream('/ws-expect');
    assert.equal(hw.up.last('/smuggled-in-body'), undefined);
  });

  test('an HTTP/1.0 upgrade is refused before any backend (RFC 6455 §4.1)', async () => {
    const before = hw.up.requests.length;
    const reply = await rawRequest(hw.w.h.url, upgrade('/ws-old', [], '1.0'));
    assert.equal(reply.status, 400);
    assert.equal(hw.up.requests.length, before);
  });
});
