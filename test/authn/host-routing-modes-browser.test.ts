/**
 * The two other ways routed hosts sign in, in real Chromium:
 *   - `session.store: redis`, two replicas: the handoff is single-use across
 *     replicas (Redis SET NX), and sign-out ends access on routed hosts at
 *     once, everywhere — the host cookie is only a handle to the server-side session;
 *   - `session.cookieDomain`: one cookie for every host, no handoff at all.
 * In both, a multi-port Service is reached by host on its default port.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { eventually } from '../support/eventually.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import {
  cookieHeader,
  echoed,
  fetchStatus,
  launchHostBrowser,
  pageWebSocket,
  rawGet,
  recordHandoffs,
  asSignedIn,
  signOut,
  startHostWorld,
  stopAtHandoff,
  SUFFIX,
  type HostWorld,
} from './host-world.js';

let browser: Browser;
let redis: RedisServer;
let r: HostWorld; // Redis store, two replicas
let d: HostWorld; // cookieDomain

before(async () => {
  [browser, redis] = await Promise.all([launchHostBrowser(), startRedis()]);
  [r, d] = await Promise.all([
    startHostWorld({
      browser,
      replicas: 2,
      session: { store: 'redis', redis: { url: redis.url }, recheckInterval: '1s' },
    }),
    startHostWorld({ browser, session: { cookieDomain: SUFFIX } }),
  ]);
});

after(async () => {
  await Promise.allSettled([r?.close(), d?.close()]);
  await browser?.close();
  await redis?.stop();
});

test('redis: the routed host lands on the app and its cookie is only a handle', async () => {
  await asSignedIn(r, async (ctx, page) => {
    await page.goto(r.app('web--team-a') + '/');
    assert.equal((await echoed(page)).server, 'web-http');
    const host = (await ctx.cookies(r.app('web--team-a'))).filter((c) =>
      c.name.startsWith('kube_bastion_host'),
    );
    assert.deepEqual(
      host.map((c) => c.name),
      ['kube_bastion_host'],
      'one small cookie',
    );
    assert.ok(host[0].value.length < 1000, `${host[0].value.length} bytes`);
  });
});

test('redis: a handoff redeemed on one replica is refused on the other', async () => {
  await asSignedIn(r, async (ctx, page) => {
    const handoff = new URL(await stopAtHandoff(r, ctx, page));
    const nonce = (await ctx.cookies(r.app('web--team-a'))).find((c) =>
      c.name.startsWith('kube_bastion_handoff_'),
    )!;
    // The thief holds the URL and the browser's nonce, and is faster — on replica 2.
    const first = await rawGet(
      r.ports[1],
      r.app('web--team-a'),
      handoff.pathname + handoff.search,
      `${nonce.name}=${nonce.value}`,
      'text/html',
    );
    assert.equal(first.status, 302);
    const res = await page.goto(handoff.href);
    assert.equal(res?.status(), 400);
    assert.match((await page.textContent('main'))!, /already used/);
  });
});

test('redis: sign-out ends access on the routed host at once, on every replica, WebSockets too', async () => {
  await asSignedIn(r, async (ctx, app) => {
    await app.goto(r.app('web--team-a') + '/before');
    const copied = await cookieHeader(ctx, r.app('web--team-a'));
    assert.equal((await rawGet(r.ports[1], r.app('web--team-a'), '/b', copied)).status, 200);
    const wsEnd = await pageWebSocket(app);
    await signOut(await ctx.newPage(), r);
    assert.equal(await fetchStatus(app, '/after'), 401);
    assert.deepEqual(await wsEnd(), { code: 1008, reason: 'signed out' }, 'its WebSocket is closed too');
    // Replica 2 keeps a session it read for at most a second (the store's local cache).
    await eventually(
      async () => {
        assert.equal((await rawGet(r.ports[1], r.app('web--team-a'), '/after', copied)).status, 401);
      },
      3000,
      50,
    );
  });
});

test('cookieDomain: one shared cookie, no handoff, the default port and a named one', async () => {
  await asSignedIn(d, async (ctx, page) => {
    const handoffs = recordHandoffs(page);
    const res = await page.goto(d.app('web--team-a') + '/home');
    assert.equal(res?.status(), 200);
    assert.equal(page.url(), d.app('web--team-a') + '/home', 'no loop');
    assert.equal((await echoed(page)).server, 'web-http');
    await page.goto(d.app('web-metrics--team-a') + '/metrics');
    assert.equal((await echoed(page)).server, 'web-metrics');
    assert.equal(handoffs.length, 0);
    const session = (await ctx.cookies(d.app('web--team-a'))).find((c) => c.name === 'kube_bastion')!;
    assert.equal(session.domain, `.${SUFFIX}`, 'the Domain cookie the admin asked for');
  });
});
