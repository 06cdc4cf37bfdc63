/**
 * A person in a real browser, on the demo topology (embedded IdP, sample
 * upstreams, static cluster state): signs in, sees only their namespaces,
 * opens a service, follows a link that works only because of rewriting,
 * posts a form, meets the 403 and 503 pages, signs out.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startDemo, type Demo } from '../../src/demo/index.js';
import { launchChromium, screenshotPath } from '../support/chromium.js';

let demo: Demo;
let browser: Browser;

before(async () => {
  [demo, browser] = await Promise.all([startDemo({ port: 0 }), launchChromium()]);
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

/** From any gateway page that needs sign-in, through the IdP's form, back to where it started. */
async function signIn(page: Page, username: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('any password works');
  await Promise.all([
    page.waitForURL((u) => u.origin === new URL(demo.url).origin),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

test('alice signs in, sees only team-a, uses a proxied app and signs out', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  const page = await context.newPage();
  try {
    // Unauthenticated: the gateway sends the browser to the IdP, whose page lists the demo users.
    await page.goto(demo.url);
    assert.equal(new URL(page.url()).origin, new URL(demo.issuer).origin);
    const idpText = await page.textContent('main');
    assert.match(idpText!, /alice/);
    assert.match(idpText!, /bob/);
    await signIn(page, 'alice');

    // The portal: her namespace only, each service linked by its proxy path.
    assert.equal(page.url(), demo.url);
    await page.getByRole('heading', { name: 'Your services' }).waitFor();
    assert.match((await page.textContent('header'))!, /Signed in as\s+alice/);
    assert.ok(await page.getByRole('heading', { name: /Namespace team-a/ }).isVisible());
    assert.equal(await page.getByRole('heading', { name: /Namespace team-b/ }).count(), 0);
    const notesLink = page.getByRole('link', { name: 'Open notes in team-a, port http (80)' });
    assert.equal(
      await notesLink.getAttribute('href'),
      '/api/v1/namespaces/team-a/services/notes:http/proxy/',
    );
    await page.screenshot({ path: screenshotPath('portal'), fullPage: true });

    // Keyboard: the first Tab offers to skip the header; from the content, the next Tab is the search box.
    await page.keyboard.press('Tab');
    assert.equal(await page.locator(':focus').textContent(), 'Skip to content');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assert.equal(await page.locator(':focus').getAttribute('id'), 'q');

    // Search narrows the list on the server (no script on our pages).
    await page.getByLabel('Search services').fill('who');
    await Promise.all([page.waitForURL(/\?q=who$/), page.getByLabel('Search services').press('Enter')]);
    const names = await page.locator('ul.services h3').allTextContents();
    assert.deepEqual(names, ['whoami']);
    await page.getByRole('link', { name: 'Show all' }).click();
    await page.waitForURL(demo.url);

    // Open the app; its root-relative link to /about works only because the gateway rewrote it.
    await page.getByRole('link', { name: 'Open notes in team-a, port http (80)' }).click();
    await page.waitForURL(/\/services\/notes:http\/proxy\/$/);
    assert.equal(await page.textContent('#user'), 'alice');
    assert.equal(
      await page.getByRole('link', { name: 'About' }).getAttribute('href'),
      '/api/v1/namespaces/team-a/services/notes:http/proxy/about',
    );
    await page.getByRole('link', { name: 'About' }).click();
    await page.waitForURL(/\/services\/notes:http\/proxy\/about$/);
    assert.equal(await page.textContent('h1'), 'About this app');

    // A form post (action="/notes", answered with Location: /) lands back inside the proxy.
    await page.getByRole('link', { name: 'Notes' }).click();
    await page.waitForURL(/\/services\/notes:http\/proxy\/$/);
    await page.getByLabel('New note').fill('deploy on friday?');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.waitForURL(/\/services\/notes:http\/proxy\/$/);
    assert.match((await page.textContent('#notes'))!, /deploy on friday\? \(alice\)/);

    // Another team's service: a 403 page that says who she is and what was refused.
    const forbidden = await page.goto(
      new URL('/api/v1/namespaces/team-b/services/whoami:http/proxy/', demo.url).href,
    );
    assert.equal(forbidden?.status(), 403);
    const text403 = (await page.textContent('main'))!;
    assert.match(text403, /You do not have access/);
    assert.match(text403, /alice may not get services in the namespace team-b/);
    assert.match(text403, /signed in as alice/);
    await page.screenshot({ path: screenshotPath('error-403'), fullPage: true });

    // A service with no ready pods: a 503 page that says so.
    const unavailable = await page.goto(
      new URL('/api/v1/namespaces/team-a/services/reports:http/proxy/', demo.url).href,
    );
    assert.equal(unavailable?.status(), 503);
    const text503 = (await page.textContent('main'))!;
    assert.match(text503, /not available right now/);
    assert.match(text503, /no ready endpoints/);
    await page.screenshot({ path: screenshotPath('error-503'), fullPage: true });

    // Sign out: the session ends here and at the IdP; the next visit asks for sign-in again.
    await page.goto(demo.url);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL((u) => u.pathname.startsWith('/interaction/'));
    assert.ok(await page.getByLabel('Username').isVisible());
    const whoami = await context.request.get(new URL('/auth/whoami', demo.url).href, {
      headers: { accept: 'application/json' },
    });
    assert.equal(whoami.status(), 401);
  } finally {
    await context.close();
  }
});

test('bob sees only team-b, and the portal answers JSON like a per-user cluster-info', async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const page = await context.newPage();
  try {
    await page.goto(demo.url);
    await signIn(page, 'bob');
    const sections = await page.locator('main h2').allTextContents();
    assert.deepEqual(
      sections.map((s) => s.replace(/\s+/g, ' ').trim()),
      ['Namespace team-b', 'Sign in from a terminal'],
    );
    await page.screenshot({ path: screenshotPath('portal-phone'), fullPage: true });

    const json = await context.request.get(demo.url, { headers: { accept: 'application/json' } });
    assert.equal(json.status(), 200);
    const listing = await json.json();
    assert.equal(listing.user.username, 'bob');
    assert.deepEqual(
      listing.namespaces.map((n: { namespace: string; services: { name: string }[] }) => [
        n.namespace,
        n.services.map((s) => s.name),
      ]),
      [['team-b', ['echo', 'whoami']]],
    );
    assert.equal(
      listing.namespaces[0].services[1].ports[0].url,
      new URL('/api/v1/namespaces/team-b/services/whoami:http/proxy/', demo.url).href,
    );

    // whoami verifies the signed assertion against the gateway's JWKS.
    await page.getByRole('link', { name: 'Open whoami in team-b, port http (80)' }).click();
    await page.waitForURL(/\/services\/whoami:http\/proxy\/$/);
    const echoed = JSON.parse((await page.textContent('body'))!);
    assert.equal(echoed.headers['x-forwarded-user'], 'bob');
    assert.equal(echoed.assertion.verified, true);
    assert.equal(echoed.assertion.claims.aud, 'team-b/whoami');

    // WebSocket through the gateway, from a page served under the proxy prefix.
    await page.goto(new URL('/api/v1/namespaces/team-b/services/echo:http/proxy/', demo.url).href);
    await page.locator('#status', { hasText: 'connected' }).waitFor();
    await page.getByLabel('Message').fill('ping');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('#log li', { hasText: 'echo: ping' }).waitFor();
  } finally {
    await context.close();
  }
});

test('our own pages carry a strict CSP and need no script', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  try {
    const res = await page.goto(
      new URL('/api/v1/namespaces/team-a/services/notes:http/proxy/', demo.url).href,
    );
    // Signed out, JS off: the redirect chain still ends on the sign-in form.
    assert.equal(res?.status(), 200);
    await signIn(page, 'alice');
    assert.match(page.url(), /\/services\/notes:http\/proxy\/$/);
    const portal = await page.goto(demo.url);
    const csp = portal?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /style-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|script-src/);
    assert.equal(await page.locator('script, style, [style]').count(), 0);
    await page.getByLabel('Search services').fill('notes');
    await page.getByRole('button', { name: 'Search' }).click();
    assert.deepEqual(await page.locator('ul.services h3').allTextContents(), ['notes']);
  } finally {
    await context.close();
  }
});
