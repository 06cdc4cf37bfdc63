/**
 * Host-routed sign-in without a shared cookie domain, in real Chromium: the
 * gateway's own origin hands a one-time, signed, short-lived ticket to the
 * routed host, which sets its own host-only cookie. Each case is an attack or
 * a promise a user would notice: no redirect loop, the app reached on the
 * right port, a handoff that works once, for one host, for a short while, and
 * a sign-out that ends access on the app's host too.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page, Request } from 'playwright-core';
import { echoed, fillLogin, signedInContext, startHostWorld, type HostWorld } from './host-world.js';

let w: HostWorld;

before(async () => {
  w = await startHostWorld();
});

after(async () => {
  await w?.close();
});

/** The handoff URLs the browser was sent to on its way (the test reads them as a thief would). */
function recordHandoffs(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (r: Request) => {
    if (r.url().includes('/.kube-bastion/callback')) seen.push(r.url());
  });
  return seen;
}

/** Stops the browser at the handoff, as if it had been copied before it was used. */
async function stopAtHandoff(ctx: BrowserContext, page: Page): Promise<string> {
  let handoff = '';
  await ctx.route('**/.kube-bastion/callback**', (route) => {
    handoff = route.request().url();
    return route.abort();
  });
  await page.goto(w.app('web--team-a') + '/stopped').catch(() => undefined);
  await ctx.unroute('**/.kube-bastion/callback**');
  assert.ok(handoff, 'the browser was sent to a handoff');
  return handoff;
}

test('a signed-in user opens a routed host and lands on the app: no loop, default port `http`', async () => {
  const ctx = await signedInContext(w);
  const page = await ctx.newPage();
  const handoffs = recordHandoffs(page);
  try {
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
    assert.ok(!w.echo.http.requests.some((r) => r.url.startsWith('/.kube-bastion')));
  } finally {
    await ctx.close();
  }
});
