/**
 * Host-routed sign-in under attack, over plain HTTP with the Host a browser
 * would send: the reserved `/.kube-bastion/` prefix however it is spelled,
 * handoffs tampered, oversized, repeated or sealed for something else,
 * tickets carried to another host or passed off as the gateway's session,
 * chunks of the routed host's cookie dropped or swapped, open redirects
 * through the sign-in, and handoffs asked for hosts the gateway does not
 * route. Users carry many groups, so the routed host's cookie spans chunks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mintHandoff, hostSessionCookie, type MintedHandoff } from '../support/handoff.js';
import { send } from '../support/http.js';
import type { TestIdP } from '../support/oidc-provider.js';
import { rawRequest } from './support/raw.js';
import { runCase, type HostileCase } from './support/cases.js';
import { SECRET_NEW, sessionChunks, signedIn, startIdP, startSignInWorld } from './support/signin-world.js';
import { WEB, type World } from './support/world.js';

let idp: TestIdP;
let w: World;
let port = 0;
let main = ''; // alice's session on publicURL
let web: [string, string][] = []; // alice's cookie on web--team-a (chunks)
let carolWeb: [string, string][] = [];
let minted: MintedHandoff;
const host = (label: string) => `${label}.apps.test:${port}`;
const publicHost = () => `127.0.0.1:${port}`;
const header = (chunks: [string, string][]) => chunks.map(([k, v]) => `${k}=${v}`).join('; ');
const split = (cookie: string) => cookie.split('; ').map((p) => p.split('=') as [string, string]);
const flip = (v: string, at: number) => v.slice(0, at) + (v[at] === 'A' ? 'B' : 'A') + v.slice(at + 1);
const handoffToken = () => new URL(minted.callback, 'http://x').searchParams.get('handoff')!;

before(
  async () => {
    idp = await startIdP();
    const world = await startSignInWorld(idp, undefined, SECRET_NEW, [], {
      routing: { hostSuffix: 'apps.test' },
    });
    w = world;
    const base = world.base;
    port = Number(new URL(base).port);
    main = header(sessionChunks(await signedIn(base, 'alice')));
    const carolMain = header(sessionChunks(await signedIn(base, 'carol')));
    web = split(await hostSessionCookie(w.h.url, publicHost(), host('web--team-a'), main));
    carolWeb = split(await hostSessionCookie(w.h.url, publicHost(), host('web--team-a'), carolMain));
    minted = await mintHandoff(w.h.url, publicHost(), host('web--team-a'), main);
    for (const [, v] of [...web, ...carolWeb]) w.secrets.add(v);
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
  await idp?.close();
});

/** A request on a routed host, authenticated only by cookies. */
function onHost(
  name: string,
  label: string,
  path: string,
  cookie: () => string,
  over: Partial<HostileCase> = {},
) {
  return [
    name,
    (): HostileCase => ({
      name,
      path,
      as: 'none',
      headers: { host: host(label), cookie: cookie() },
      status: 401,
      shape: 'status',
      reason: 'Unauthorized',
      upstream: null,
      ...over,
    }),
  ] as const;
}

describe('the routed host’s own cookie', () => {
  const cases = [
    onHost(
      'control: alice’s cookie on its own host reaches the app, and no gateway cookie does',
      'web--team-a',
      '/c',
      () => `${header(web)}; ${minted.nonce}; ${main}; theme=dark`,
      {
        status: 200,
        shape: 'echo',
        reason: undefined,
        upstream: {
          url: '/c',
          check: (r) => {
            assert.ok(web.length >= 2, `the cookie spans ${web.length} chunks (many groups)`);
            assert.equal(r.headers.cookie, 'theme=dark', 'no gateway cookie reaches the app');
            assert.equal(r.headers['x-forwarded-user'], 'alice@example.com');
          },
        },
      },
    ),
    // web-http--team-a is web's port `http`: alice may reach it, so a 401 is the ticket's audience alone.
    onHost('carried to another routed host alice may reach', 'web-http--team-a', '/c', () => header(web)),
    onHost(
      'the gateway’s own session sent to a routed host (a shared cookie gone astray)',
      'web--team-a',
      '/c',
      () => main,
    ),
    onHost('a chunk missing', 'web--team-a', '/c', () => header(web.slice(0, -1))),
    onHost('a chunk from another user’s cookie', 'web--team-a', '/c', () =>
      header([web[0], [web[1][0], carolWeb[1][1]], ...web.slice(2)]),
    ),
    onHost('one byte flipped', 'web--team-a', '/c', () =>
      header([[web[0][0], flip(web[0][1], 120)], ...web.slice(1)]),
    ),
    onHost(
      'a handoff passed off as the host cookie',
      'web--team-a',
      '/c',
      () => `${web[0][0]}=${handoffToken()}`,
    ),
    onHost(
      'the nonce cookie passed off as the host cookie',
      'web--team-a',
      '/c',
      () => `${web[0][0]}=${minted.nonce.split('=')[1]}`,
    ),
    [
      'the routed host’s cookie renamed as the gateway’s session on publicURL',
      (): HostileCase => ({
        name: 'the routed host’s cookie renamed as the gateway’s session on publicURL',
        path: `${WEB}/c`,
        as: 'none',
        headers: { cookie: web.map(([k, v]) => `${k.replace('_host', '')}=${v}`).join('; ') },
        status: 401,
        shape: 'status',
        upstream: null,
      }),
    ] as const,
  ];
  for (const [name, c] of cases) test(name, () => runCase(w, c()));
});

describe('the reserved prefix is never proxied', () => {
  const paths = [
    '/.kube-bastion/callback',
    '/.kube-bastion/anything',
    '/.kube-bastion',
    '/.KUBE-BASTION/callback',
    '/%2ekube-bastion/callback',
    '/%2Ekube-bastion%2Fcallback',
    '/app/../.kube-bastion/callback',
    '/app/%2e%2e/.kube-bastion/callback',
    '//.kube-bastion/callback',
    '/./.kube-bastion/callback?handoff=x',
  ];
  for (const path of paths)
    test(`GET ${path}`, () =>
      runCase(w, {
        name: path,
        path,
        as: 'none',
        headers: { host: host('web--team-a'), cookie: header(web) },
        status: [400, 404],
        shape: 'status',
        upstream: null,
      }));

  test('a WebSocket upgrade to the reserved prefix', async () => {
    const before = w.seen();
    const r = await rawRequest(
      w.h.url,
      [
        'GET /.kube-bastion/callback HTTP/1.1',
        `Host: ${host('web--team-a')}`,
        `Cookie: ${header(web)}`,
        `Origin: http://${host('web--team-a')}`,
        'Connection: Upgrade',
        'Upgrade: websocket',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      ].join('\r\n') + '\r\n\r\n',
    );
    assert.equal(r.status, 404);
    assert.equal(w.seen(), before);
  });
});

describe('handoffs forged, damaged or misused', () => {
  const rows: [string, () => string, RegExp][] = [
    ['a flipped byte', () => `handoff=${flip(handoffToken(), 60)}`, /not valid/],
    ['truncated', () => `handoff=${handoffToken().slice(0, -8)}`, /not valid/],
    ['not a handoff at all', () => 'handoff=hello', /not valid/],
    ['the host cookie passed off as a handoff', () => `handoff=${web[0][1]}`, /not valid/],
    ['twice in the query', () => `handoff=${handoffToken()}&handoff=${handoffToken()}`, /not valid/],
    ['oversized', () => `handoff=${'A'.repeat(13_000)}`, /not valid/],
    ['missing', () => '', /not valid/],
  ];
  for (const [name, query, message] of rows)
    test(`a handoff ${name} is refused and spends nothing`, () =>
      runCase(w, {
        name,
        path: `/.kube-bastion/callback?${query()}`,
        as: 'none',
        headers: { host: host('web--team-a'), cookie: minted.nonce },
        status: 400,
        shape: 'status',
        reason: 'BadRequest',
        message,
        upstream: null,
        check: (reply) => assert.equal(reply.headers['set-cookie'], undefined, 'no cookie set'),
      }));

  test('a HEAD (a link checker, a preview) does not spend a handoff', async () => {
    const fresh = await mintHandoff(w.h.url, publicHost(), host('web--team-a'), main);
    const head = await send(w.h.url, 'HEAD', fresh.callback, {
      host: host('web--team-a'),
      cookie: fresh.nonce,
    });
    assert.equal(head.status, 405);
    assert.equal(head.headers['set-cookie'], undefined);
    const get = await runCaseReply(fresh.callback, fresh.nonce);
    assert.equal(get.status, 302, 'still good for the browser');
  });

  test('the genuine handoff is redeemed once, then never again', async () => {
    const ok = await runCaseReply(minted.callback, minted.nonce);
    assert.equal(ok.status, 302);
    assert.equal(ok.headers.location, '/');
    assert.equal(ok.headers['referrer-policy'], 'no-referrer');
    assert.equal(ok.headers['cache-control'], 'no-store');
    const again = await runCaseReply(minted.callback, minted.nonce);
    assert.equal(again.status, 400);
    assert.match(again.body, /already used/);
  });
});

const runCaseReply = (path: string, cookie: string) =>
  send(w.h.url, 'GET', path, { host: host('web--team-a'), cookie, accept: 'application/json' });

describe('sign-in redirects stay on the routed host and handoffs go to routed hosts only', () => {
  const rds: [string, string][] = [
    ['//evil.example.com/x', '/'],
    ['https://evil.example.com/', '/'],
    ['/\\evil.example.com', '/'],
    ['/%2F%2Fevil.example.com', '/'],
    ['/.kube-bastion/callback?handoff=x', '/'],
    ['/reports?q=1#top', '/reports?q=1#top'],
    ['/auth/login', '/auth/login'], // the app's own path: not the gateway's on a routed host
  ];
  for (const [rd, want] of rds)
    test(`signin rd=${rd} returns to ${want}`, () =>
      runCase(w, {
        name: rd,
        path: `/.kube-bastion/signin?rd=${encodeURIComponent(rd)}`,
        as: 'none',
        headers: { host: host('web--team-a') },
        status: 302,
        shape: 'any',
        upstream: null,
        check: (reply) => {
          const to = new URL(String(reply.headers.location));
          assert.equal(to.origin, `http://${publicHost()}`);
          assert.equal(to.pathname, '/auth/handoff');
          assert.equal(to.searchParams.get('rd'), want);
          assert.equal(reply.headers['referrer-policy'], 'no-referrer');
          assert.match(
            String(reply.headers['set-cookie']),
            /^kube_bastion_handoff_[\w-]{16}=[\w-]{22}; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax$/,
          );
        },
      }));

  const hosts = [
    'evil.example.com',
    'evil.example.com:8080',
    'web--team-a.apps.test.evil.example.com',
    'web--team-a.apps.test@evil.example.com',
    'web--team-a.apps.test/evil',
    '127.0.0.1',
  ];
  for (const h of hosts)
    test(`no handoff is minted for host=${h}`, () =>
      runCase(w, {
        name: h,
        path: `/auth/handoff?host=${encodeURIComponent(h)}&rd=%2F&state=${'a'.repeat(43)}`,
        as: 'none',
        headers: { cookie: main },
        status: 400,
        shape: 'status',
        upstream: null,
        check: (reply) => assert.equal(reply.headers.location, undefined),
      }));
});
