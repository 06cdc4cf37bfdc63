/**
 * Two readings of one request: what the gateway decided on, and what the
 * upstream (or the browser) acts on. Each case sends a spelling that reaches
 * the same target as a plain one and asserts that every decision followed the
 * target — the response policy (sandbox, rewriting), the Host the upstream
 * builds its links from, the method it performs — and exactly what the
 * upstream received.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { send } from '../support/http.js';
import { rawRequest } from './support/raw.js';
import { received } from './support/requests.js';
import { NS_A, WEB, startWorld, type World } from './support/world.js';

let w: World;
before(
  async () => {
    w = await startWorld({
      config: {
        routing: { hostSuffix: 'apps.test' },
        upstream: {
          rewriteHTMLExclude: [`${WEB}/html`],
          rewrite: { sandbox: [`${WEB}/sandboxed/**`] },
        },
      },
    });
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
});

const asAlice = (extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${w.alice}`,
  accept: 'application/json',
  ...extra,
});

describe('response policies follow the target, not the spelling of the URL', () => {
  const SANDBOX = /sandbox allow-scripts/;
  const spellings: [string, string][] = [
    ['plain', `${WEB}/sandboxed/page`],
    ['an escaped letter after proxy', `${WEB}/%73andboxed/page`],
    ['a dot segment after proxy', `${WEB}/elsewhere/../sandboxed/page`],
    ['an escaped separator after proxy', `${WEB}/sandboxed%2Fpage`],
    [
      'an escaped letter in the namespace',
      '/api/v1/namespaces/team%2Da/services/web:http/proxy/sandboxed/page',
    ],
    ['a doubled slash after proxy', `${WEB}//sandboxed//page`],
  ];
  for (const [name, path] of spellings) {
    test(`rewrite.sandbox, ${name}: the same upstream page gets the same sandbox`, async () => {
      const r = await send(w.h.url, 'GET', path, asAlice());
      assert.equal(r.status, 200, r.body);
      assert.equal(w.a.last()?.url, '/sandboxed/page', 'the page served is the sandboxed one');
      assert.match(String(r.headers['content-security-policy']), SANDBOX);
    });
  }
  test('rewriteHTMLExclude: an escaped spelling of an excluded page is not rewritten either', async () => {
    for (const path of [`${WEB}/html`, `${WEB}/%68tml`, `${WEB}/x/../html`]) {
      const r = await send(w.h.url, 'GET', path, asAlice({ accept: 'text/html' }));
      assert.equal(w.a.last()?.url, '/html');
      assert.match(r.body, /href="\/next"/, `${path}: the page as the app wrote it`);
    }
  });
});

describe('the Host an upstream sees under host routing is the routed host, canonical', () => {
  const routed = async (hostHeader: string) => {
    const reply = await rawRequest(
      w.h.url,
      `GET /where HTTP/1.1\r\nHost: ${hostHeader}\r\nAuthorization: Bearer ${w.alice}\r\n` +
        'Accept: application/json\r\nConnection: close\r\n\r\n',
    );
    return reply;
  };
  for (const [name, hostHeader, sent] of [
    ['case and a trailing dot', 'WEB--Team-A.Apps.Test.', 'web--team-a.apps.test'],
    ['a port', 'web--team-a.apps.test:8443', 'web--team-a.apps.test:8443'],
    ['a trailing dot before the port', 'web--team-a.apps.test.:8443', 'web--team-a.apps.test:8443'],
  ] as const) {
    test(`${name}: routed, and the upstream gets ${sent}`, async () => {
      const before = w.a.requests.length;
      const reply = await routed(hostHeader);
      assert.equal(reply.status, 200, reply.text);
      assert.equal(w.a.requests.length, before + 1);
      const got = w.a.last()!;
      assert.deepEqual(received(got, 'host'), [sent]);
      assert.deepEqual(received(got, 'x-forwarded-host'), [sent]);
    });
  }
  for (const [name, hostHeader] of [
    ['userinfo after a port', 'web--team-a.apps.test:1@evil.example'],
    ['a path after the host', 'web--team-a.apps.test:80/evil'],
    ['a port that is not a number', 'web--team-a.apps.test:evil.example'],
    ['two ports', 'web--team-a.apps.test:80:81'],
    ['a port out of range', 'web--team-a.apps.test:99999'],
    ['a comma-joined second host', 'web--team-a.apps.test, evil.example'],
  ] as const) {
    test(`${name}: refused before any upstream (a Host no client would send)`, async () => {
      const before = w.seen();
      const reply = await routed(hostHeader);
      assert.equal(reply.status, 400, reply.text);
      assert.equal(w.seen(), before, 'nothing reached an upstream');
    });
  }
});

describe('the method the upstream performs is the one that was authorized', () => {
  // Alice may get and create on pod web-0, not delete it.
  const POD = `${NS_A}/pods/web-0:http/proxy`;
  const OVERRIDES = [
    'X-HTTP-Method-Override',
    'X-HTTP-Method',
    'X-Method-Override',
    'x_http_method_override',
  ];
  for (const header of OVERRIDES) {
    test(`POST with ${header}: DELETE reaches the upstream as a plain POST`, async () => {
      const r = await send(w.h.url, 'POST', `${POD}/items/1`, asAlice({ [header]: 'DELETE' }), '{}');
      assert.equal(r.status, 200, r.body);
      const got = w.a.last()!;
      assert.equal(got.method, 'POST');
      for (const name of OVERRIDES) assert.deepEqual(received(got, name), [], `${name} reached the upstream`);
    });
  }
});

describe('Connection and hop-by-hop headers cannot remove what the gateway vouches for', () => {
  test('Connection naming the identity, assertion and X-Forwarded headers removes none of the gateway’s', async () => {
    const r = await send(
      w.h.url,
      'GET',
      `${WEB}/conn`,
      asAlice({
        connection:
          'keep-alive, X-Forwarded-User, X-Forwarded-Groups, X-Bastion-Assertion, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, X-Forwarded-Prefix, Host',
      }),
    );
    assert.equal(r.status, 200, r.body);
    const got = w.a.last()!;
    assert.deepEqual(received(got, 'x-forwarded-user'), ['alice']);
    assert.deepEqual(received(got, 'x-forwarded-groups'), ['devs,system:authenticated']);
    assert.equal(received(got, 'x-bastion-assertion').length, 1);
    assert.deepEqual(received(got, 'x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(received(got, 'x-forwarded-prefix'), [
      '/api/v1/namespaces/team-a/services/web:http/proxy',
    ]);
    assert.equal(received(got, 'host').length, 1);
  });
  test('TE, Proxy-Authorization, Keep-Alive, Proxy-Connection, and an h2c Upgrade without Connection: upgrade', async () => {
    const r = await send(
      w.h.url,
      'GET',
      `${WEB}/hop`,
      asAlice({
        te: 'trailers, gzip;q=0.5',
        'proxy-authorization': 'Basic bWFsbG9yeTpzZWNyZXQ=',
        'keep-alive': 'timeout=5',
        'proxy-connection': 'keep-alive',
        upgrade: 'h2c',
        'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA',
        connection: 'HTTP2-Settings',
      }),
    );
    assert.equal(r.status, 200, r.body);
    const got = w.a.last()!;
    assert.equal(got.upgrade, false);
    assert.deepEqual(received(got, 'te'), ['trailers']);
    for (const name of ['proxy-authorization', 'keep-alive', 'proxy-connection', 'upgrade', 'http2-settings'])
      assert.deepEqual(received(got, name), [], `${name} reached the upstream`);
  });
});

describe('duplicate and conflicting headers: the gateway and the upstream read the same one', () => {
  const twoTokens = (first: string, second: string) =>
    `GET ${WEB}/dup HTTP/1.1\r\nHost: ${new URL(w.h.url).host}\r\nAuthorization: Bearer ${first}\r\n` +
    `Authorization: Bearer ${second}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`;
  test('two Authorization headers: refused, whichever comes first (another hop may read the last)', async () => {
    const before = w.seen();
    for (const [first, second] of [
      [w.alice, w.bob],
      [w.bob, w.alice],
    ]) {
      const reply = await rawRequest(w.h.url, twoTokens(first, second));
      assert.equal(reply.status, 401, reply.text);
      assert.match(reply.body, /more than one Authorization header/);
    }
    assert.equal(w.seen(), before);
  });
  test('a second Origin on an upgrade cannot make a foreign one pass', async () => {
    const before = w.seen();
    const reply = await rawRequest(
      w.h.url,
      `GET ${WEB}/ws HTTP/1.1\r\nHost: ${new URL(w.h.url).host}\r\nAuthorization: Bearer ${w.alice}\r\n` +
        `Origin: ${w.h.url}\r\nOrigin: https://evil.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.equal(reply.status, 403, reply.text);
    assert.equal(w.seen(), before);
  });
  test('two Upgrade headers (websocket, h2c) are not a WebSocket upgrade', async () => {
    const before = w.seen();
    const reply = await rawRequest(
      w.h.url,
      `GET ${WEB}/ws HTTP/1.1\r\nHost: ${new URL(w.h.url).host}\r\nAuthorization: Bearer ${w.alice}\r\n` +
        'Connection: Upgrade\r\nUpgrade: websocket\r\nUpgrade: h2c\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.equal(reply.status, 400, reply.text);
    assert.equal(w.seen(), before);
  });
  test('two Content-Types: the upstream gets the one the gateway kept, once', async () => {
    const reply = await rawRequest(
      w.h.url,
      `POST ${WEB}/ct HTTP/1.1\r\nHost: ${new URL(w.h.url).host}\r\nAuthorization: Bearer ${w.alice}\r\n` +
        'Content-Type: application/json\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
    );
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(received(w.a.last()!, 'content-type'), ['application/json']);
  });
});

describe('methods a proxy does not pass on', () => {
  test('CONNECT: the connection is closed, nothing reaches an upstream', async () => {
    const before = w.seen();
    const reply = await rawRequest(
      w.h.url,
      `CONNECT ${w.a.host}:${w.a.port} HTTP/1.1\r\nHost: ${w.a.host}:${w.a.port}\r\n` +
        `Authorization: Bearer ${w.alice}\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    assert.ok(reply.closed);
    assert.equal(reply.status, 0, 'no tunnel is opened (no 200)');
    assert.equal(w.seen(), before);
  });
  for (const method of ['TRACE', 'TRACK', 'PROPFIND']) {
    test(`${method} to a granted service: refused after authorization, nothing upstream`, async () => {
      const before = w.seen();
      const r = await send(w.h.url, method, `${WEB}/x`, asAlice({ cookie: 'app=secret' }));
      // TRACK is no method llhttp knows: its 400. The others are refused as verbs nobody is granted.
      assert.ok([400, 403, 405].includes(r.status), `${r.status} ${r.body}`);
      assert.doesNotMatch(r.body, /app=secret/);
      assert.equal(w.seen(), before);
    });
  }
  test('OPTIONS * is the gateway’s, never proxied', async () => {
    const before = w.seen();
    const reply = await rawRequest(
      w.h.url,
      `OPTIONS * HTTP/1.1\r\nHost: ${new URL(w.h.url).host}\r\nAuthorization: Bearer ${w.alice}\r\nConnection: close\r\n\r\n`,
    );
    assert.notEqual(reply.status, 0);
    assert.equal(w.seen(), before);
  });
});
