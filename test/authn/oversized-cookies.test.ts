/**
 * A browser whose gateway cookies grew past what the listener accepts
 * (`listen.maxHeaderBytes`, 16 KB) would get 431 on every request — sign-in
 * and sign-out included — until the cookies expired. The listener refuses such
 * a request before any route runs; its 431 then expires every one of the
 * gateway's cookies (all chunks and the sign-in cookie) and says so, and the
 * next request works. A sign-in route (`/auth/…`) gets no page — its URL may
 * carry a handoff's state a same-origin app must not read — but the same URL
 * again without the session's chunks (a 303), so it works at once. When the
 * gateway's cookies are not the cause (a long URL, another application's
 * cookies), nothing is expired: a long link cannot sign anybody out; on a
 * sign-in route the connection is closed without an answer. Through the real
 * gateway, with fetch, the pure answer, and Chromium.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { oversizedAnswer, type OversizedHead } from '../../src/authn/session/oversized-request.js';
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
function oldChunks(browser: FetchBrowser): void {
  for (let i = 0; i < 5; i++)
    browser.cookies().set(i ? `kube_bastion_${i}` : 'kube_bastion', 'x'.repeat(3800));
}
function oversized(browser: FetchBrowser): void {
  oldChunks(browser);
  browser.cookies().set('kube_bastion_login', 'y'.repeat(500));
}
const ours = (browser: FetchBrowser) =>
  [...browser.cookies().keys()].filter((k) => k.startsWith('kube_bastion'));

const CHUNKS = ['', '_1', '_2', '_3', '_4', '_5', '_6', '_7'].map((s) => `kube_bastion${s}`);
const expiredBy = (res: Response) => res.headers.getSetCookie().map((c) => c.split('=')[0]);

describe('our cookies made the request too large', () => {
  test('a page of an app: 431 with a page that says what happened; every gateway cookie expired; the next request works', async () => {
    const browser = new FetchBrowser();
    oversized(browser);
    const res = await browser.request(`${base}${ECHO_PATH}`);
    assert.equal(res.status, 431);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const page = await res.text();
    assert.match(page, /its own sign-in cookies; they have been removed: sign in again/);
    assert.match(page, /href="\/auth\/login"/);
    assert.deepEqual(expiredBy(res), [...CHUNKS, 'kube_bastion_login']);
    assert.deepEqual(ours(browser), []);
    const again = await browser.request(`${base}/auth/login`);
    assert.equal(again.status, 302);
    assert.ok(again.headers.get('location')!.startsWith(idp.issuer), 'on to the IdP');
  });

  test('an API client gets a Status', async () => {
    const browser = new FetchBrowser();
    oversized(browser);
    const res = await browser.request(`${base}${ECHO_PATH}`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 431);
    const status = (await res.json()) as { kind: string; code: number; message: string };
    assert.equal(status.kind, 'Status');
    assert.equal(status.code, 431);
    assert.ok(res.headers.getSetCookie().length > 0);
  });

  const signInRoutes: [string, number][] = [
    ['/auth/login?rd=%2Fx', 302], // on to the IdP
    ['/auth/logout', 200], // the sign-out page
    ['/auth/whoami', 302], // nobody signed in any more: a browser is sent to sign in
  ];
  for (const [path, next] of signInRoutes)
    test(`${path}: no page, the same URL again without the session's chunks (303), which then works`, async () => {
      const browser = new FetchBrowser();
      oversized(browser);
      const res = await browser.request(`${base}${path}`);
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), path);
      assert.equal(await res.text(), '', 'no page');
      assert.deepEqual(expiredBy(res), CHUNKS, 'the sign-in cookie stays: it did not matter');
      assert.deepEqual(ours(browser), ['kube_bastion_login']);
      const again = await browser.request(`${base}${path}`);
      assert.equal(again.status, next);
    });

  test('a sign-in whose callback the old session and the sign-in cookie overflow together completes', async () => {
    const browser = new FetchBrowser();
    const rd = `${ECHO_PATH}report?q=${'a'.repeat(1500)}`; // a long return path swells the sign-in cookie
    let res = await browser.get(`${base}/auth/login?rd=${encodeURIComponent(rd)}`);
    const form = /action="([^"]+)"/.exec(await res.text())![1];
    res = await browser.request(new URL(form, browser.hops.at(-1)!.url).href, {
      method: 'POST',
      body: new URLSearchParams({ login: 'alice', password: 'alice' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    let next = new URL(res.headers.get('location')!, browser.hops.at(-1)!.url).href;
    while (!next.startsWith(`${base}/auth/callback`)) {
      res = await browser.request(next);
      next = new URL(res.headers.get('location')!, next).href;
    }
    // The browser still holds a large session of before (set only now: the test IdP shares the gateway's host name).
    oldChunks(browser);
    const final = await browser.get(next);
    const callbacks = browser.hops.filter((h) => h.url.startsWith(`${base}/auth/callback`));
    assert.deepEqual(
      callbacks.map((h) => h.status),
      [303, 302],
      'sent again without the old chunks, then signed in',
    );
    assert.equal(final.status, 200);
    assert.equal(echo.last()!.headers['x-forwarded-user'], 'alice@example.com');
    assert.equal(echo.last()!.url, rd.slice(ECHO_PATH.length - 1), 'back where the sign-in began');
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

  const grafana = (browser: FetchBrowser) => {
    browser.cookies().set('kube_bastion', 'z'.repeat(900));
    for (let i = 0; i < 5; i++) browser.cookies().set(`grafana_${i}`, 'g'.repeat(3800));
  };

  test("another application's cookies, on a page of an app: 431", async () => {
    const browser = new FetchBrowser();
    grafana(browser);
    const res = await browser.request(`${base}${ECHO_PATH}`);
    assert.equal(res.status, 431);
    assert.deepEqual(res.headers.getSetCookie(), []);
  });

  test("another application's cookies, on a sign-in route: the connection closes without an answer", async () => {
    const browser = new FetchBrowser();
    grafana(browser);
    await assert.rejects(browser.request(`${base}/auth/login?rd=%2F`), /socket hang up|ECONNRESET/);
    assert.deepEqual(ours(browser), ['kube_bastion'], 'nothing expired');
  });
});

describe('the answer, as a function of what the listener read', () => {
  const settings = cookieSettings(new URL('http://127.0.0.1'), 'kube_bastion');
  const MAX = 16_384;
  const chunks = `kube_bastion=${'x'.repeat(3800)}; kube_bastion_1=${'x'.repeat(3800)}`;
  const other = `grafana=${'g'.repeat(9000)}`;
  const login = `kube_bastion_login=${'l'.repeat(3000)}`;
  const answer = (target: string | undefined, cookie: string, rest = 9000) =>
    oversizedAnswer(
      { target, cookie, bytes: cookie.length + rest, html: true } satisfies OversizedHead,
      settings,
      MAX,
    );
  const status = (raw: string | undefined) => raw?.split('\r\n')[0] ?? 'closed';
  const location = (raw: string | undefined) => /\r\nLocation: ([^\r]*)/.exec(raw ?? '')?.[1];

  test('a sign-in route our chunks made too large: the same URL again, chunks expired', () => {
    const raw = answer('/auth/handoff?host=w&state=s', chunks);
    assert.equal(status(raw), 'HTTP/1.1 303 See Other');
    assert.equal(location(raw), '/auth/handoff?host=w&state=s');
    assert.doesNotMatch(raw!, /kube_bastion_login=;/);
  });
  test('the chunks are not enough: the sign-in cookie goes too', () => {
    const raw = answer('/auth/callback?code=c', `${chunks}; ${login}`, 14_000);
    assert.equal(status(raw), 'HTTP/1.1 303 See Other');
    assert.match(raw!, /kube_bastion_login=;/);
  });
  test('a sign-in route something else made too large, or an unknown target: no answer', () => {
    assert.equal(status(answer('/auth/handoff?state=s', `kube_bastion=v; ${other}`, 8000)), 'closed');
    assert.equal(status(answer('/AUTH/handoff?state=s', other, 8000)), 'closed');
    assert.equal(status(answer(undefined, chunks)), 'closed');
  });
  test('absolute-form: sent back to its path; a target that is no plain path: no answer', () => {
    assert.equal(location(answer('http://127.0.0.1/auth/login?rd=%2F', chunks)), '/auth/login?rd=%2F');
    assert.equal(status(answer('/auth/login?rd=\u00e9', chunks)), 'closed');
  });
  test('any other page: the 431, with our cookies expired only when they were the cause', () => {
    assert.match(status(answer('/api/x', chunks)), /^HTTP\/1.1 431/);
    assert.match(answer('/api/x', chunks)!, /Set-Cookie: kube_bastion=;/);
    assert.doesNotMatch(answer('/api/x', `kube_bastion=v; ${other}`, 8000)!, /Set-Cookie/);
  });
});

describe('in Chromium', () => {
  let chromium: Browser;
  before(async () => {
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
  });

  test('the browser takes the expired cookies from the 303 and is on its way to sign in', async () => {
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
    assert.ok(res?.url().startsWith(`${idp.issuer}/interaction/`), res?.url());
    let first = res!.request();
    while (first.redirectedFrom()) first = first.redirectedFrom()!;
    assert.equal((await first.response())?.status(), 303, 'sent again without the chunks: no page');
    assert.deepEqual(
      (await ctx.cookies(base)).filter((c) => /^kube_bastion(_\d)?$/.test(c.name)),
      [],
      'Chromium expired them',
    );
    await ctx.close();
  });
});
