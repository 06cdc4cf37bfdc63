/**
 * Host-routed sign-in without a shared cookie domain, in real Chromium: the
 * gateway's own origin hands a one-time, signed, short-lived ticket to the
 * routed host, which sets its own host-only cookie (cookie session store, two
 * replicas). Each case is a promise a user would notice or an attack tried:
 * no redirect loop, the app reached on the right port, a handoff that works
 * once, for one host, for one browser and for seconds, a host cookie that is
 * worth nothing on another host, and a sign-out that ends access on the app.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import {
  cookieHeader,
  echoed,
  fetchStatus,
  fillLogin,
  pageWebSocket,
  rawGet,
  recordHandoffs,
  asSignedIn,
  signedInContext,
  signOut,
  startHostWorld,
  stopAtHandoff as stopAt,
  SUFFIX,
  type HostWorld,
} from './host-world.js';

const HOST_SESSION_TTL = 5 * 60_000;
let w: HostWorld;

before(async () => {
  w = await startHostWorld({ replicas: 2, session: { recheckInterval: '1s' } });
});

after(async () => {
  await w?.close();
});

const stopAtHandoff = (ctx: BrowserContext, page: Page, label = 'web--team-a') => stopAt(w, ctx, page, label);

const nonceCookie = async (ctx: BrowserContext, label: string) =>
  (await ctx.cookies(w.app(label))).find((c) => c.name.startsWith('kube_bastion_handoff_'));

const neverUpstream = () =>
  Object.values(w.echo).every((e) => e.requests.every((r) => !/kube-bastion/i.test(r.url)));

test('a signed-in user opens a routed host and lands on the app: no loop, default port `http`', async () => {
  await asSignedIn(w, async (ctx, page) => {
    const handoffs = recordHandoffs(page);
    const res = await page.goto(w.app('web--team-a') + '/dashboard?tab=1');
    assert.equal(res?.status(), 200);
    assert.equal(page.url(), w.app('web--team-a') + '/dashboard?tab=1', 'back on the page asked for');
    const seen = await echoed(page);
    assert.equal(seen.server, 'web-http', 'the multi-port Service answers on its port named http');
    assert.equal(seen.url, '/dashboard?tab=1');
    assert.equal(seen.headers['x-forwarded-user'], 'alice@example.com');
    assert.equal(handoffs.length, 1, 'one handoff');
    // The ticket never reaches the app: not in the URL, not in a Referer, not in a cookie.
    const upstreamSaw = JSON.stringify(w.echo.http.requests.map((r) => [r.url, r.headers, r.body]));
    const ticket = new URL(handoffs[0]).searchParams.get('handoff')!;
    assert.ok(ticket.length > 40);
    assert.ok(!upstreamSaw.includes(ticket), 'the handoff never reaches the upstream');
    assert.equal(seen.headers.referer, undefined);
    assert.doesNotMatch(seen.headers.cookie ?? '', /kube_bastion/i);
    assert.ok(neverUpstream());
  });
});

test('a visitor who is not signed in goes through the IdP once and lands on the app', async () => {
  const ctx = await w.browser.newContext();
  const page = await ctx.newPage();
  try {
    await page.goto(w.app('other--team-a') + '/report?q=1');
    assert.ok(page.url().startsWith(`${w.idp.issuer}/interaction/`), `at the IdP: ${page.url()}`);
    await fillLogin(page, 'alice');
    await page.waitForURL(w.app('other--team-a') + '/report?q=1');
    assert.equal((await echoed(page)).server, 'other', 'the only (unnamed) port');
    // Signed in on the gateway's host too: a second routed host needs no IdP visit.
    await page.goto(w.app('web-metrics--team-a') + '/metrics');
    assert.equal((await echoed(page)).server, 'web-metrics', 'the port named in the host');
    await page.goto(w.app('web-9100--team-a') + '/metrics');
    assert.equal((await echoed(page)).server, 'web-metrics', 'the port numbered in the host');
  } finally {
    await ctx.close();
  }
});

test('the routed host cookie is host-only and worth nothing on another host', async () => {
  await asSignedIn(w, async (ctx, page) => {
    await page.goto(w.app('web--team-a') + '/');
    const onWeb = await ctx.cookies(w.app('web--team-a'));
    const host = onWeb.find((c) => c.name === 'kube_bastion_host')!;
    assert.ok(host, `a host cookie: ${onWeb.map((c) => c.name).join()}`);
    assert.equal(host.domain, `web--team-a.${SUFFIX}`, 'no Domain attribute: this host only');
    assert.equal(host.httpOnly, true);
    assert.equal(host.sameSite, 'Lax');
    const all = await ctx.cookies();
    assert.deepEqual(
      all.filter((c) => c.domain.startsWith('.')).map((c) => c.name),
      [],
      'no cookie for a parent domain',
    );
    assert.ok(!onWeb.some((c) => c.name === 'kube_bastion'), 'the gateway session stays on its own host');
    assert.ok(!(await ctx.cookies(w.app('other--team-a'))).some((c) => c.name.startsWith('kube_bastion')));

    // Carried to another routed host by hand, the cookie is refused there (its ticket names web's origin).
    await ctx.addCookies([{ ...host, domain: `other--team-a.${SUFFIX}` }]);
    const other = await rawGet(
      w.port,
      w.app('other--team-a'),
      '/x',
      await cookieHeader(ctx, w.app('other--team-a')),
    );
    assert.equal(other.status, 401);
    assert.equal(w.echo.other.requests.filter((r) => r.url === '/x').length, 0);
  });
});

test('a handoff works once: a replay is refused, with or without the browser’s nonce', async () => {
  await asSignedIn(w, async (ctx, page) => {
    const handoff = await stopAtHandoff(ctx, page);
    const nonce = (await nonceCookie(ctx, 'web--team-a'))!;
    assert.ok(nonce, 'the routed host bound the sign-in to this browser');
    // Without this browser's nonce, the copy is refused on any replica.
    const elsewhere = await rawGet(
      w.ports[1],
      w.app('web--team-a'),
      new URL(handoff).pathname + new URL(handoff).search,
      '',
    );
    assert.equal(elsewhere.status, 400);
    assert.match(elsewhere.body, /another browser/);

    assert.equal((await page.goto(handoff))?.status(), 200, 'redeemed once');
    assert.equal(page.url(), w.app('web--team-a') + '/stopped', 'the handoff is gone from the URL');

    const again = await page.goto(handoff);
    assert.equal(again?.status(), 400, 'the nonce was spent');
    await ctx.addCookies([nonce]);
    const replay = await page.goto(handoff);
    assert.equal(replay?.status(), 400);
    assert.match((await page.textContent('main'))!, /already used/);
    assert.ok(neverUpstream());
  });
});

test('an expired handoff is refused', async () => {
  await asSignedIn(w, async (ctx, page) => {
    const handoff = await stopAtHandoff(ctx, page);
    w.advance(31_000); // the handoff lives 30 s
    const res = await page.goto(handoff);
    assert.equal(res?.status(), 400);
    assert.match((await page.textContent('main'))!, /expired/);
    assert.ok(!(await ctx.cookies(w.app('web--team-a'))).some((c) => c.name === 'kube_bastion_host'));
  });
});

test('a handoff minted for host A is refused on host B, and none is minted for a host not routed', async () => {
  await asSignedIn(w, async (ctx, page) => {
    const handoff = new URL(await stopAtHandoff(ctx, page, 'web--team-a'));
    handoff.host = new URL(w.app('other--team-a')).host;
    const res = await page.goto(handoff.href);
    assert.equal(res?.status(), 400);
    assert.match((await page.textContent('main'))!, /another host/);
    assert.equal(w.echo.other.requests.filter((r) => r.url.includes('kube-bastion')).length, 0);

    const state = 'a'.repeat(43);
    for (const host of [
      'evil.example.com',
      `web--team-a.${SUFFIX}.evil.example.com:${w.port}`,
      `bastion.${SUFFIX}:${w.port}`,
      `web--team-a.${SUFFIX}:1`,
      `web--team-a.${SUFFIX}:${w.port}@evil.example.com`,
    ]) {
      const url = `${w.publicURL}/auth/handoff?host=${encodeURIComponent(host)}&rd=%2F&state=${state}`;
      const r = await page.goto(url);
      assert.equal(r?.status(), 400, host);
      assert.equal(new URL(page.url()).host, new URL(w.publicURL).host, `no redirect for ${host}`);
    }
  });
});

test('a handoff minted for one person and opened in another’s browser is refused (login CSRF)', async () => {
  const attacker = await signedInContext(w, 'bob');
  const victim = await signedInContext(w, 'alice');
  try {
    const handoff = await stopAtHandoff(attacker, await attacker.newPage());
    const page = await victim.newPage();
    await page.goto(w.app('web--team-a') + '/'); // the victim even has sign-ins of its own on that host
    const res = await page.goto(handoff);
    assert.equal(res?.status(), 400);
    await page.goto(w.app('web--team-a') + '/who');
    assert.equal((await echoed(page)).headers['x-forwarded-user'], 'alice@example.com', 'still herself');
  } finally {
    await Promise.all([attacker.close(), victim.close()]);
  }
});

test('several tabs signing in to the same host at once all land on the app (a restored session)', async () => {
  const ctx = await signedInContext(w);
  try {
    const pages = await Promise.all([1, 2, 3].map(() => ctx.newPage()));
    await Promise.all(pages.map((p, i) => p.goto(`${w.app('web--team-a')}/tab-${i}`)));
    for (const [i, p] of pages.entries()) {
      const landed = p.url() === `${w.app('web--team-a')}/tab-${i}`;
      assert.ok(landed, `tab ${i} at ${p.url()}: ${landed ? '' : await p.innerText('body')}`);
    }
  } finally {
    await ctx.close();
  }
});

test('a host cookie past its life hands off again silently while the main session lives', async () => {
  await asSignedIn(w, async (ctx, page) => {
    const handoffs = recordHandoffs(page);
    await page.goto(w.app('web--team-a') + '/one');
    w.advance(HOST_SESSION_TTL + 1000);
    await page.goto(w.app('web--team-a') + '/two');
    assert.equal(page.url(), w.app('web--team-a') + '/two');
    assert.equal((await echoed(page)).url, '/two');
    assert.equal(handoffs.length, 2, 'a second handoff, no IdP visit');
  });
});

test('sign-out ends access on the routed host: at once here, within hostSessionTTL on other replicas', async () => {
  await asSignedIn(w, async (ctx, app) => {
    await app.goto(w.app('web--team-a') + '/before');
    assert.equal(await fetchStatus(app, '/still-in'), 200);
    const copied = await cookieHeader(ctx, w.app('web--team-a'));
    assert.equal((await rawGet(w.ports[1], w.app('web--team-a'), '/b', copied)).status, 200, 'replica 2 too');

    const wsEnd = await pageWebSocket(app);
    await signOut(await ctx.newPage(), w);
    assert.equal(await fetchStatus(app, '/after'), 401, 'the replica that signed out refuses at once');
    assert.deepEqual(await wsEnd(), { code: 1008, reason: 'signed out' }, 'and closes its WebSockets');
    // Cookie store: the other replica honours the ticket until it ends, then hands off — and finds no session.
    w.advance(HOST_SESSION_TTL + 1000);
    assert.equal((await rawGet(w.ports[1], w.app('web--team-a'), '/later', copied)).status, 401);
    const nav = await rawGet(w.ports[1], w.app('web--team-a'), '/later', copied, 'text/html');
    assert.equal(nav.status, 302);
    assert.equal(nav.location, '/.kube-bastion/signin?rd=%2Flater');
  });
});
