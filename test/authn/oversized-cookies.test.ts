/**
 * A browser whose gateway cookies grew past what the listener accepts
 * (`listen.maxHeaderBytes`, 16 KB) would get 431 on every request — sign-in
 * and sign-out included — until the cookies expired. Node refuses such a
 * request before any route runs; the gateway's 431 then expires every one of
 * its cookies (all chunks and the sign-in cookie) and says so, and the next
 * request works. When the gateway's cookies are not the cause (a long URL,
 * another application's cookies), nothing is expired: a long link cannot sign
 * anybody out. Through the real gateway, with fetch, raw bytes and Chromium.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { causedByOurCookies } from '../../src/authn/session/oversized-request.js';
import { cookieSettings } from '../../src/authn/session/cookie-jar.js';
import type { Gateway } from '../../src/server/gateway.js';
import { launchChromium } from '../support/chromium.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { ECHO_PATH, startGateway } from './gateway-fixture.js';

let idp: TestIdP;
let echo: EchoServer;
let gateway: Gateway;
let base: string;

before(async () => {
  [idp, echo] = await Promise.all([startTestIdP(), startEchoServer()]);
  ({ gateway, url: base } = await startGateway({ idp, echo }));
  idp.setClients([gatewayClient(base)]);
});

after(async () => {
  await gateway?.close();
  await Promise.allSettled([idp?.close(), echo?.close()]);
});

/** What an older gateway (8 chunks allowed) could leave behind: five full chunks, ~19 KB. */
function oversized(browser: FetchBrowser): void {
  for (let i = 0; i < 5; i++)
    browser.cookies().set(i ? `kube_bastion_${i}` : 'kube_bastion', 'x'.repeat(3800));
  browser.cookies().set('kube_bastion_login', 'y'.repeat(500));
}
const ours = (browser: FetchBrowser) =>
  [...browser.cookies().keys()].filter((k) => k.startsWith('kube_bastion'));

describe('our cookies made the request too large', () => {
  for (const path of ['/auth/login', '/auth/logout', ECHO_PATH]) {
    test(`${path}: 431 with a page that says what happened; every gateway cookie expired; the next request works`, async () => {
      const browser = new FetchBrowser();
      oversized(browser);
      const res = await browser.request(`${base}${path}`);
      assert.equal(res.status, 431);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      const page = await res.text();
      assert.match(page, /its own sign-in cookies; they have been removed: sign in again/);
      assert.match(page, /href="\/auth\/login"/);
      const expired = res.headers.getSetCookie().map((c) => c.split('=')[0]);
      assert.deepEqual(expired, [
        ...['', '_1', '_2', '_3', '_4', '_5', '_6', '_7'].map((s) => `kube_bastion${s}`),
        'kube_bastion_login',
      ]);
      assert.deepEqual(ours(browser), []);
      const again = await browser.request(`${base}/auth/login`);
      assert.equal(again.status, 302);
      assert.ok(again.headers.get('location')!.startsWith(idp.issuer), 'on to the IdP');
    });
  }

  test('an API client gets a Status', async () => {
    const browser = new FetchBrowser();
    oversized(browser);
    const res = await browser.request(`${base}/auth/whoami`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 431);
    const status = (await res.json()) as { kind: string; code: number; message: string };
    assert.equal(status.kind, 'Status');
    assert.equal(status.code, 431);
    assert.ok(res.headers.getSetCookie().length > 0);
  });
});

describe('something else made it too large: nothing is expired', () => {
  test('a long URL, with a normal session cookie', async () => {
    const browser = new FetchBrowser();
    browser.cookies().set('kube_bastion', 'z'.repeat(900));
    const res = await browser.request(`${base}${ECHO_PATH}?q=${'a'.repeat(17_000)}`);
    assert.equal(res.status, 431);
    assert.match(await res.text(), /the address, or the cookies of other applications/);
    assert.deepEqual(res.headers.getSetCookie(), []);
    assert.deepEqual(ours(browser), ['kube_bastion']);
  });

  test("another application's cookies", async () => {
    const browser = new FetchBrowser();
    browser.cookies().set('kube_bastion', 'z'.repeat(900));
    for (let i = 0; i < 5; i++) browser.cookies().set(`grafana_${i}`, 'g'.repeat(3800));
    const res = await browser.request(`${base}/auth/login`);
    assert.equal(res.status, 431);
    assert.deepEqual(res.headers.getSetCookie(), []);
  });
});

test('judged from a later piece of the request (Node saw only the chunk that overflowed)', () => {
  const settings = cookieSettings(new URL('http://127.0.0.1'), 'kube_bastion');
  const tail = Buffer.from(`ua-extra: 1\r\nCookie: kube_bastion_3=${'x'.repeat(3800)}\r\n\r\n`);
  assert.equal(causedByOurCookies(tail, settings, 16_384), true);
  assert.equal(causedByOurCookies(Buffer.from(`x-other: ${'o'.repeat(5000)}\r\n`), settings, 16_384), false);
  assert.equal(causedByOurCookies(undefined, settings, 16_384), false);
});

describe('in Chromium', () => {
  let chromium: Browser;
  before(async () => {
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
  });

  test('the browser takes the expired cookies from the 431 and can sign in again', async () => {
    const ctx = await chromium.newContext();
    const url = new URL(base);
    await ctx.addCookies(
      Array.from({ length: 5 }, (_, i) => ({
        name: i ? `kube_bastion_${i}` : 'kube_bastion',
        value: 'x'.repeat(3800),
        domain: url.hostname,
        path: '/',
      })),
    );
    const page = await ctx.newPage();
    const res = await page.goto(`${base}/auth/login`);
    assert.equal(res?.status(), 431);
    assert.match((await page.textContent('main')) ?? '', /sign in again/);
    assert.deepEqual(
      (await ctx.cookies(base)).filter((c) => c.name.startsWith('kube_bastion')),
      [],
      'Chromium expired them',
    );
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${idp.issuer}/interaction/`));
    await ctx.close();
  });
});
