/**
 * The gateway's pages, measured in real Chromium the way the issue asks for
 * them: readable (contrast, light and dark), usable on a phone (no sideways
 * scrolling, targets a finger can hit), reachable by keyboard with a visible
 * focus ring, and every control named for a screen reader. The tour covers the
 * demo IdP's sign-in form, the portal, the 403 and 503 pages and the gateway's
 * own sign-in page after a failed sign-in.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrowserContextOptions, Page } from 'playwright-core';
import {
  accessibleControls,
  focusStyle,
  scrollWidth,
  tabTo,
  targetSizes,
  textContrast,
} from '../support/a11y.js';
import { demoInBrowser } from '../support/demo-browser.js';

const fixture = demoInBrowser();

const PAGES = ['IdP sign-in', 'portal', '403', '503', 'sign-in again'] as const;
type PageName = (typeof PAGES)[number];

/** Opens each page in turn (signing in as alice on the way) and runs `check` on it. */
async function tour(options: BrowserContextOptions, check: (name: PageName, page: Page) => Promise<void>) {
  const { demo, browser } = fixture;
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const at = (path: string) => new URL(path, demo.url).href;
  try {
    await page.goto(demo.url);
    await page.getByLabel('Username').waitFor();
    await check('IdP sign-in', page);

    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('any password works');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(demo.url);
    await check('portal', page);

    const forbidden = await page.goto(at('/api/v1/namespaces/team-b/services/whoami:http/proxy/'));
    assert.equal(forbidden?.status(), 403);
    await check('403', page);

    const unavailable = await page.goto(at('/api/v1/namespaces/team-a/services/reports:http/proxy/'));
    assert.equal(unavailable?.status(), 503);
    await check('503', page);

    // A callback the gateway did not start: the sign-in page with what went wrong.
    const failed = await page.goto(at('/auth/callback?code=abc&state=xyz'));
    assert.equal(failed?.status(), 400);
    await page.getByRole('heading', { name: 'Sign in to kube-bastion' }).waitFor();
    await check('sign-in again', page);
  } finally {
    await context.close();
  }
}

for (const colorScheme of ['light', 'dark'] as const) {
  test(`text contrast meets WCAG AA on every page (${colorScheme} scheme)`, async () => {
    const failures: string[] = [];
    const checked = new Map<PageName, number>();
    await tour({ colorScheme }, async (name, page) => {
      const results = await textContrast(page);
      checked.set(name, results.length);
      for (const r of results.filter((r) => r.ratio < r.required))
        failures.push(`${name}: “${r.text}” ${r.ratio}:1 < ${r.required}:1 (${r.color} on ${r.background})`);
    });
    assert.deepEqual([...checked.keys()], PAGES);
    for (const [name, n] of checked) assert.ok(n >= 5, `${name}: only ${n} texts measured`);
    assert.deepEqual(failures, [], `too little contrast:\n${failures.join('\n')}`);
  });
}

test('on a 375x667 phone no page scrolls sideways and every control is at least 24x24', async () => {
  const problems: string[] = [];
  const portalControls: string[] = [];
  await tour(
    { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true },
    async (name, page) => {
      const width = await scrollWidth(page);
      if (width > 375) problems.push(`${name}: ${width}px wide, scrolls sideways`);
      const targets = (await targetSizes(page)).filter((t) => !t.inline);
      if (name === 'portal') portalControls.push(...targets.map((t) => t.name));
      for (const t of targets.filter((t) => t.width < 24 || t.height < 24))
        problems.push(`${name}: <${t.tag}> “${t.name}” is ${t.width}x${t.height}`);
    },
  );
  // The measurement saw what matters: the search box, the sign-out button, the service links.
  for (const control of ['#q', 'Sign out', 'kube-bastion', 'Open notes in team-a, port http (80)'])
    assert.ok(portalControls.includes(control), `${control} was measured (got ${portalControls.join(', ')})`);
  assert.deepEqual(problems, []);
});

test('Tab from the top reaches the sign-out button and the search box, each with a visible focus ring', async () => {
  await tour({ viewport: { width: 1000, height: 800 } }, async (name, page) => {
    if (name !== 'portal') return;
    const signOut = page.getByRole('button', { name: 'Sign out' });
    const search = page.getByRole('searchbox', { name: 'Search services' });
    const unfocused = [await focusStyle(signOut), await focusStyle(search)];

    await page.reload(); // focus starts at the top of the page
    const toSignOut = await tabTo(page, signOut);
    const signOutFocused = await focusStyle(signOut);
    const toSearch = toSignOut + (await tabTo(page, search));
    const searchFocused = await focusStyle(search);

    // Skip link, brand, sign-out; then the search box.
    assert.ok(toSignOut <= 3, `sign-out took ${toSignOut} presses of Tab`);
    assert.ok(toSearch <= 4, `the search box took ${toSearch} presses of Tab`);
    for (const [label, idle, focused] of [
      ['sign-out button', unfocused[0], signOutFocused],
      ['search box', unfocused[1], searchFocused],
    ] as const) {
      assert.ok(focused.drawn, `${label}: no outline or shadow on focus (${JSON.stringify(focused)})`);
      assert.notDeepEqual(
        [focused.outline, focused.boxShadow],
        [idle.outline, idle.boxShadow],
        `${label}: focus looks the same as no focus`,
      );
    }
  });
});

test('every control on every page has an accessible name', async () => {
  const unnamed: string[] = [];
  const named: Partial<Record<PageName, string[]>> = {};
  await tour({}, async (name, page) => {
    const controls = await accessibleControls(page);
    named[name] = controls.map((c) => `${c.role} ${c.name}`);
    for (const c of controls.filter((c) => !c.name)) unnamed.push(`${name}: ${c.role} ${c.element}`);
  });
  assert.deepEqual(unnamed, [], `controls without a name:\n${unnamed.join('\n')}`);
  // Names come from the markup's labels, not just "something": spot-check each page.
  const expected: Record<PageName, string[]> = {
    'IdP sign-in': ['textbox Username', 'textbox Password', 'button Sign in'],
    portal: [
      'searchbox Search services',
      'button Search',
      'button Sign out',
      'link Open notes in team-a, port http (80)',
    ],
    '403': ['link kube-bastion', 'link Go to the portal'],
    '503': ['link Go to the portal'],
    'sign-in again': ['link Sign in again'],
  };
  for (const pageName of PAGES)
    for (const control of expected[pageName])
      assert.ok(
        named[pageName]?.includes(control),
        `${pageName}: ${control} (got ${named[pageName]?.join(', ')})`,
      );
});
