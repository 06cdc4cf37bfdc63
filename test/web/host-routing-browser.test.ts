/**
 * Host routing in a real browser: `{service}--{namespace}.{suffix}` reaches
 * the Service with the path untouched, so an app's absolute links work as
 * written. Chromium resolves `*.apps.test` to 127.0.0.1 by a launch flag.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startDemo, type Demo } from '../../src/demo/index.js';
import { launchChromium } from '../support/chromium.js';

let demo: Demo;
let browser: Browser;

before(async () => {
  [demo, browser] = await Promise.all([
    startDemo({ port: 0, hostSuffix: 'apps.test', publicHost: 'bastion.apps.test' }),
    launchChromium(['--host-resolver-rules=MAP *.apps.test 127.0.0.1']),
  ]);
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

const port = () => new URL(demo.url).port;

test('the portal links a host-routed service, whose root-relative links are left as they are', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(demo.url);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('x');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(demo.url);

    const hostLinks = await Promise.all(
      (await page.locator('.host a').all()).map((a) => a.getAttribute('href')),
    );
    assert.deepEqual(hostLinks.sort(), [
      // The demo's TCP sample (kv) is a Service like the others: the portal cannot tell its protocol.
      `http://kv--team-a.apps.test:${port()}/`,
      `http://notes--team-a.apps.test:${port()}/`,
      `http://reports--team-a.apps.test:${port()}/`,
      `http://whoami--team-a.apps.test:${port()}/`,
    ]);

    await page.getByRole('link', { name: `notes--team-a.apps.test:${port()}` }).click();
    await page.waitForURL(`http://notes--team-a.apps.test:${port()}/`);
    assert.equal(await page.textContent('#user'), 'alice');
    // No prefix to keep: the link reaches the app exactly as the app wrote it.
    assert.equal(await page.getByRole('link', { name: 'About' }).getAttribute('href'), '/about');
    await page.getByRole('link', { name: 'About' }).click();
    await page.waitForURL(`http://notes--team-a.apps.test:${port()}/about`);
    assert.equal(await page.textContent('h1'), 'About this app');

    // Another team's host: refused with the same 403 page.
    const res = await page.goto(`http://echo--team-b.apps.test:${port()}/`);
    assert.equal(res?.status(), 403);
    assert.match((await page.textContent('main'))!, /alice may not get services in the namespace team-b/);
    // Served on the routed host, the page still gets the gateway's stylesheet (its `/` is the app's)…
    // (Runs in the page: the test's own types know no DOM, hence the narrow cast.)
    const maxWidth = await page
      .locator('main')
      .evaluate(
        (el) =>
          (globalThis as unknown as { getComputedStyle(e: unknown): { maxWidth: string } }).getComputedStyle(
            el,
          ).maxWidth,
      );
    assert.equal(maxWidth, '960px', 'main { max-width: 60rem } from /_bastion/style.css applies');
    // …and its portal links lead to the gateway, not to the app's root.
    const portal = new URL('/', demo.url).href;
    assert.equal(await page.getByRole('link', { name: 'Go to the portal' }).getAttribute('href'), portal);
    assert.equal(await page.getByRole('link', { name: 'kube-bastion' }).getAttribute('href'), portal);
    await page.getByRole('link', { name: 'Go to the portal' }).click();
    await page.waitForURL(portal);
  } finally {
    await context.close();
  }
});

test('an unauthenticated visit to a host-routed service leads to sign-in and back', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`http://whoami--team-a.apps.test:${port()}/`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('x');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`http://whoami--team-a.apps.test:${port()}/`);
  } finally {
    await context.close();
  }
});
