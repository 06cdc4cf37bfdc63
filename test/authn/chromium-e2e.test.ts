/**
 * The whole browser story in real Chromium through the real gateway:
 * sign in at the real oidc-provider, reach a proxied echo service, have the
 * session refreshed, sign out with the sign-out page's button (at the IdP
 * too), sign in again — and a sign-in started on one gateway replica that
 * finishes on another. The gateways' clock is injected: the test moves it to
 * make the session due for refresh.
 */
import { launchChromium } from '../support/chromium.js';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Gateway } from '../../src/server/gateway.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { ManualClock } from '../support/manual-clock.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { ECHO_PATH, startGateway } from './gateway-fixture.js';

const TOKEN_TTL = 4;
const clock = new ManualClock();
let idp: TestIdP;
let echo: EchoServer;
let a: { gateway: Gateway; url: string };
let b: { gateway: Gateway; url: string };
let browser: Browser;
let publicURL: string;

before(async () => {
  [idp, echo] = await Promise.all([startTestIdP({ accessTokenTTL: TOKEN_TTL }), startEchoServer()]);
  a = await startGateway({ idp, echo, clock });
  publicURL = a.url;
  idp.setClients([gatewayClient(publicURL)]);
  b = await startGateway({ idp, echo, publicURL, port: 0, clock });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await Promise.allSettled([a?.gateway.close(), b?.gateway.close()]);
  await Promise.allSettled([idp?.close(), echo?.close()]);
});

async function fillLogin(page: Page, user: string): Promise<void> {
  await page.waitForSelector('#login');
  await page.fill('#login', user);
  await page.fill('#password', user);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/interaction/')), page.click('#submit')]);
}

async function echoed(page: Page): Promise<{ url: string; headers: Record<string, string> }> {
  return JSON.parse((await page.textContent('body')) ?? '{}') as {
    url: string;
    headers: Record<string, string>;
  };
}

const sessionCookie = async (ctx: BrowserContext) =>
  (await ctx.cookies(publicURL)).find((c) => c.name === 'kube_bastion');

test('sign in, reach a proxied service, refresh, sign out, sign in again', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();

  await page.goto(`${a.url}${ECHO_PATH}hello?from=chromium`);
  assert.ok(page.url().startsWith(`${idp.issuer}/interaction/`), `at the IdP sign-in page: ${page.url()}`);
  await fillLogin(page, 'alice');
  assert.equal(page.url(), `${publicURL}${ECHO_PATH}hello?from=chromium`);
  const first = await echoed(page);
  assert.equal(first.url, '/hello?from=chromium');
  assert.equal(first.headers['x-forwarded-user'], 'alice@example.com');
  assert.doesNotMatch(
    first.headers.cookie ?? '',
    /kube_bastion/,
    'the session cookie never reaches the upstream',
  );

  const cookie = (await sessionCookie(ctx))!;
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Lax');

  // Refresh: the tokens are due after TOKEN_TTL/2; the next request renews the session.
  clock.advance((TOKEN_TTL / 2) * 1000 + 300);
  const refreshesBefore = idp.grants.refresh_token;
  await page.goto(`${publicURL}/auth/whoami`);
  assert.equal(((await echoed(page)) as unknown as { username: string }).username, 'alice@example.com');
  assert.equal(idp.grants.refresh_token, refreshesBefore + 1);
  assert.notEqual((await sessionCookie(ctx))!.value, cookie.value, 'renewed cookie stored by the browser');
  await page.goto(`${publicURL}${ECHO_PATH}after-refresh`);
  assert.equal((await echoed(page)).url, '/after-refresh');

  // Sign out: opening /auth/logout only shows the page; its button signs out (a POST from our page).
  await page.goto(`${publicURL}/auth/logout`);
  assert.equal(page.url(), `${publicURL}/auth/logout`);
  assert.match((await page.textContent('main')) ?? '', /signed in as alice@example\.com/);
  assert.ok(await sessionCookie(ctx), 'opening the page signed nobody out');
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(`${idp.issuer}/session/end`)),
    page.getByRole('button', { name: 'Sign out' }).click(),
  ]);
  assert.equal(await sessionCookie(ctx), undefined, 'our cookie is gone');
  // The IdP asks to end its session too.
  // After the IdP's confirmation the browser comes back to the portal, which (signed out) may send it on to sign in.
  const leftLogoutPage = (u: URL) =>
    u.origin === publicURL ||
    u.pathname.startsWith('/interaction/') ||
    u.pathname.includes('/session/end/success');
  await Promise.all([page.waitForURL(leftLogoutPage), page.click('button[name="logout"]')]);

  // Signed out everywhere: the IdP asks for the password again.
  await page.goto(`${publicURL}${ECHO_PATH}again`);
  assert.ok(page.url().startsWith(`${idp.issuer}/interaction/`), `asked to sign in again: ${page.url()}`);
  await fillLogin(page, 'bob');
  assert.equal(page.url(), `${publicURL}${ECHO_PATH}again`);
  assert.match(
    (await page.textContent('body')) ?? '',
    /403|Forbidden|not allowed|forbidden/i,
    'bob is not in team-a',
  );
  await ctx.close();
});

test('a sign-in started on replica B finishes on replica A and the session works on both', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${b.url}/auth/login?rd=${encodeURIComponent(`${ECHO_PATH}via-b`)}`);
  await fillLogin(page, 'alice');
  assert.equal(page.url(), `${publicURL}${ECHO_PATH}via-b`, 'finished on the public URL (replica A)');
  await page.goto(`${b.url}${ECHO_PATH}on-b`);
  const seen = await echoed(page);
  assert.equal(seen.url, '/on-b');
  assert.equal(seen.headers['x-forwarded-user'], 'alice@example.com');
  await ctx.close();
});
