/**
 * Cross-site request forgery and cross-site WebSocket hijacking, checked on
 * real requests to a real server: what a browser on another site could make
 * the user's browser send is refused with 403. Under host routing every
 * routed host is its own site: a page on one may not act on another with the
 * session cookie they share.
 */
import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Identity } from '../../src/request/identity.js';
import { checkOrigin, targetOrigin } from '../../src/authz/csrf.js';
import { GatewayError } from '../../src/errors.js';
import { send as sendTo } from '../support/http.js';
import { hostSessionCookie } from '../support/handoff.js';
import type { TestIdP } from '../support/oidc-provider.js';
import { rawRequest } from '../security/support/raw.js';
import {
  SECRET_NEW,
  sessionChunks,
  signedIn,
  startIdP,
  startSignInWorld,
} from '../security/support/signin-world.js';
import { WEB, type World } from '../security/support/world.js';

const PUBLIC = new URL('https://bastion.example.com');
const viaSession: Identity = { username: 'alice', groups: [], extra: {}, method: 'session' };
const viaBearer: Identity = { ...viaSession, method: 'jwt' };

/** A server that runs checkOrigin on every request and answers with the outcome. */
let port = 0;
let own: string | undefined = PUBLIC.origin;
const server = createServer((req: IncomingMessage, res) => {
  const identity = req.headers['x-test-auth'] === 'bearer' ? viaBearer : viaSession;
  const upgrade = req.headers['x-test-upgrade'] === '1';
  try {
    checkOrigin(req, identity, own, upgrade);
    res.end('ok');
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    res.writeHead(err.status).end(err.message);
  }
});
before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

function send(method: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path: '/api/v1/namespaces/a/services/web/proxy/', headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('cookie-authenticated unsafe methods need our own Origin or Referer', async () => {
  const cases: [string, Record<string, string>, number][] = [
    ['POST', { origin: 'https://bastion.example.com' }, 200],
    ['POST', { origin: 'https://BASTION.example.com:443' }, 200],
    ['DELETE', { referer: 'https://bastion.example.com/api/v1/namespaces/a/services/web/proxy/page' }, 200],
    ['POST', { origin: 'https://evil.example' }, 403],
    ['PUT', { origin: 'http://bastion.example.com' }, 403],
    ['PATCH', { origin: 'https://bastion.example.com.evil.example' }, 403],
    ['POST', { origin: 'null' }, 403],
    ['POST', { referer: 'https://evil.example/https://bastion.example.com/' }, 403],
    // Origin is what the browser vouches for; a Referer cannot override a foreign Origin.
    ['POST', { origin: 'https://evil.example', referer: 'https://bastion.example.com/' }, 403],
    ['POST', {}, 403],
    ['GET', { origin: 'https://evil.example' }, 200],
    ['HEAD', {}, 200],
    ['OPTIONS', { origin: 'https://evil.example' }, 200],
  ];
  for (const [method, headers, status] of cases) {
    const res = await send(method, headers);
    assert.equal(res.status, status, `${method} ${JSON.stringify(headers)}`);
    if (status === 403) assert.match(res.body, /cross-site request refused/);
  }
});

test('bearer-authenticated requests are not subject to the cookie CSRF rule', async () => {
  assert.equal((await send('POST', { 'x-test-auth': 'bearer' })).status, 200);
  assert.equal((await send('POST', { 'x-test-auth': 'bearer', origin: 'https://evil.example' })).status, 200);
});

test('WebSocket upgrades with a foreign Origin are refused, whatever the credentials', async () => {
  const up = { 'x-test-upgrade': '1' };
  assert.equal((await send('GET', { ...up, origin: 'https://evil.example' })).status, 403);
  assert.equal(
    (await send('GET', { ...up, 'x-test-auth': 'bearer', origin: 'https://evil.example' })).status,
    403,
  );
  assert.equal((await send('GET', { ...up, origin: 'null' })).status, 403);
  assert.equal((await send('GET', { ...up, origin: 'https://bastion.example.com' })).status, 200);
  // Non-browser clients (kubectl, ws libraries) send no Origin.
  assert.equal((await send('GET', up)).status, 200);
});

test("the allowed origin is the target's own: its routed host, else publicURL", () => {
  const cases: [string | undefined, boolean, string | undefined][] = [
    ['web--team-a.apps.example.com', true, 'https://web--team-a.apps.example.com'],
    ['WEB--team-a.apps.example.com:443', true, 'https://web--team-a.apps.example.com'],
    ['web--team-a.apps.example.com:8443', true, 'https://web--team-a.apps.example.com:8443'],
    // The path form and the gateway's own pages belong to publicURL, whatever the Host says.
    ['web--team-a.apps.example.com', false, 'https://bastion.example.com'],
    [undefined, false, 'https://bastion.example.com'],
    // A Host no browser sends names no origin at all.
    ['web--team-a.apps.example.com:1@evil.example', true, undefined],
    ['web--team-a.apps.example.com/x', true, undefined],
    [undefined, true, undefined],
  ];
  for (const [host, routed, want] of cases) {
    assert.equal(targetOrigin(PUBLIC, host, routed), want, `${host} routed=${routed}`);
  }
});

test('a routed host accepts its own origin only, not a sibling routed host nor publicURL', async () => {
  own = targetOrigin(PUBLIC, 'web--team-a.apps.example.com', true);
  assert.equal((await send('POST', { origin: 'https://web--team-a.apps.example.com' })).status, 200);
  assert.equal((await send('POST', { origin: 'https://api--team-b.apps.example.com' })).status, 403);
  assert.equal((await send('POST', { origin: 'https://bastion.example.com' })).status, 403);
  const up = { 'x-test-upgrade': '1' };
  assert.equal((await send('GET', { ...up, origin: 'https://api--team-b.apps.example.com' })).status, 403);
  own = undefined;
  assert.equal((await send('POST', { origin: 'https://web--team-a.apps.example.com' })).status, 403);
  own = PUBLIC.origin;
});

/**
 * End to end: a real gateway with host routing and OIDC sign-in. Alice's
 * session cookie is sent to every routed host (as a shared `Domain` cookie
 * would be); what differs is the page the request comes from.
 */
describe('a signed-in browser under host routing', () => {
  let idp: TestIdP;
  let w: World;
  let base = '';
  let cookie = '';
  /** The routed host's own session cookie (handed off from publicURL's: no cookie is shared). */
  let hostCookie = '';
  let gatewayPort = 0;
  const routed = (label: string) => `${label}.apps.test:${gatewayPort}`;
  const origin = (label: string) => `http://${routed(label)}`;

  before(
    async () => {
      idp = await startIdP();
      const world = await startSignInWorld(idp, undefined, SECRET_NEW, [], {
        routing: { hostSuffix: 'apps.test' },
      });
      w = world;
      base = world.base;
      gatewayPort = Number(new URL(base).port);
      cookie = sessionChunks(await signedIn(base, 'alice'))
        .map(([k, v]) => `${k}=${v}`)
        .join('; ');
      hostCookie = await hostSessionCookie(
        w.h.url,
        `127.0.0.1:${gatewayPort}`,
        routed('web--team-a'),
        cookie,
      );
    },
    { timeout: 60_000 },
  );
  after(async () => {
    await w?.close();
    await idp?.close();
  });

  const post = (host: string, path: string, from: Record<string, string>) =>
    sendTo(
      w.h.url,
      'POST',
      path,
      {
        host,
        cookie: host === routed('web--team-a') ? hostCookie : cookie,
        accept: 'application/json',
        'content-type': 'text/plain',
        ...from,
      },
      'change',
    );
  const upgrade = (host: string, from: string) =>
    rawRequest(
      w.h.url,
      [
        'GET /ws HTTP/1.1',
        `Host: ${host}`,
        `Cookie: ${hostCookie}`,
        `Origin: ${from}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      ].join('\r\n') + '\r\n\r\n',
    );

  test('a POST from another routed host is refused; from the same host it reaches the app', async () => {
    const before = w.a.requests.length;
    const forged: Record<string, string>[] = [
      { origin: origin('evil--team-b') },
      { origin: origin('secret--team-a') },
      { origin: base },
      { referer: `${origin('evil--team-b')}/form` },
    ];
    for (const from of forged) {
      const res = await post(routed('web--team-a'), '/orders', from);
      assert.equal(res.status, 403, `${JSON.stringify(from)}: ${res.body}`);
      assert.match(res.body, /cross-site request refused/);
    }
    assert.equal(w.a.requests.length, before, 'no forged request reached the app');

    const own: Record<string, string>[] = [
      { origin: origin('web--team-a') },
      { referer: `${origin('web--team-a')}/form` },
    ];
    for (const from of own) {
      const ok = await post(routed('web--team-a'), '/orders', from);
      assert.equal(ok.status, 200, ok.body);
      assert.equal(w.a.last()!.url, '/orders');
    }
  });

  test('the path form accepts publicURL pages only, not a routed host', async () => {
    const refused = await post(`127.0.0.1:${gatewayPort}`, `${WEB}/orders`, {
      origin: origin('web--team-a'),
    });
    assert.equal(refused.status, 403, refused.body);
    const ok = await post(`127.0.0.1:${gatewayPort}`, `${WEB}/orders`, { origin: base });
    assert.equal(ok.status, 200, ok.body);
  });

  test('a WebSocket from another routed host is refused; from the same host it opens', async () => {
    const before = w.a.requests.length;
    const foreign = await upgrade(routed('web--team-a'), origin('evil--team-b'));
    assert.equal(foreign.status, 403, foreign.text);
    assert.match(foreign.body, /cross-site WebSocket request refused/);
    assert.equal(w.a.requests.length, before, 'the app never saw the hijacking attempt');
    const own = await upgrade(routed('web--team-a'), origin('web--team-a'));
    assert.equal(own.status, 101, own.text);
  });
});
