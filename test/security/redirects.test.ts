/**
 * Open redirects (oauth2-proxy CVE-2020-5233, CVE-2020-11053, CVE-2020-4037,
 * Pomerium CVE-2021-29651): every payload goes through `/auth/logout?rd=` (the
 * sign-out page's form, and its POST) and
 * through a whole sign-in (`/auth/login?rd=` → IdP → `/auth/callback`); where
 * the browser is sent must be a path on the gateway's own origin, and no
 * header may be injected into the response.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FetchBrowser } from '../support/fetch-browser.js';
import type { TestIdP } from '../support/oidc-provider.js';
import { assertAftermath } from './support/cases.js';
import { signedIn, startIdP, startSignInWorld, type SignInWorld } from './support/signin-world.js';
import { WEB } from './support/world.js';

let w: SignInWorld;
let idp: TestIdP;
let browser: FetchBrowser;

before(
  async () => {
    idp = await startIdP();
    w = await startSignInWorld(idp, undefined);
    browser = await signedIn(w.base, 'alice');
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
  await idp?.close();
});

const PAYLOADS = [
  '//evil.example',
  '///evil.example',
  '////evil.example/',
  '/\\evil.example',
  '\\\\evil.example',
  '/\\/evil.example',
  '\\/evil.example',
  'https://evil.example',
  'http://evil.example/',
  'HTTPS://EVIL.EXAMPLE',
  'https:evil.example',
  'https:/evil.example',
  '//evil.example/%2F..',
  '/%09/evil.example',
  '/%2F/evil.example',
  '/%2f%2fevil.example',
  '/%5Cevil.example',
  '/%5C%5Cevil.example',
  '%2F%2Fevil.example',
  '/\t/evil.example',
  '/ /evil.example',
  '/%20/evil.example',
  '/%0B/evil.example',
  '/.//evil.example',
  '/..//evil.example',
  '/./\\evil.example',
  '/%2e%2e//evil.example',
  '/%252F%252Fevil.example',
  '/%25252F%25252Fevil.example',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  '//evil.example@127.0.0.1',
  '//127.0.0.1@evil.example',
  'http://127.0.0.1@evil.example/',
  '//evil%E3%80%82example',
  '/%E2%80%A8//evil.example',
  '/\u3000/evil.example',
  '/\ufeff/evil.example',
  'evil.example',
  ' //evil.example',
  '/\r\n/evil.example',
  '/x%0d%0aSet-Cookie:%20pwned=1',
  '/x\r\nSet-Cookie: pwned=1',
  `/${'a'.repeat(3000)}`,
  '/auth/login?rd=//evil.example',
  '/auth/callback?code=x',
];

/** Where a browser would go: a path on the gateway's own origin and nothing a browser reads as a host. */
function assertOwnPath(location: string | undefined, payload: string): void {
  assert.ok(location !== undefined, 'a Location header');
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(location, /[\u0000-\u0020\u007f\\]/, `no control byte or backslash in ${location}`);
  assert.ok(
    location.startsWith('/') && !location.startsWith('//'),
    `${JSON.stringify(payload)} → ${location}`,
  );
  assert.equal(new URL(location, w.base).origin, w.base);
  assert.ok(!/evil/i.test(new URL(location, w.base).host));
}

function assertNoInjectedHeader(res: Response): void {
  assert.ok(!res.headers.getSetCookie().some((c) => c.includes('pwned')), 'no injected Set-Cookie');
}

/** `/auth/login?rd=…` through the IdP (already signed in there) to the callback's redirect. */
async function signInReturnsTo(rd: string): Promise<{ location?: string; res: Response }> {
  let url = `${w.base}/auth/login?rd=${encodeURIComponent(rd)}`;
  for (let hop = 0; hop < 12; hop++) {
    const res = await browser.request(url);
    const location = res.headers.get('location') ?? undefined;
    await res.arrayBuffer();
    if (new URL(url).pathname === '/auth/callback') return { location, res };
    assert.ok(location, `hop ${hop} at ${url} answered ${res.status} without a Location`);
    const next = new URL(location, url);
    assert.ok(next.origin === w.base || next.origin === idp.issuer, `never leaves for ${next.origin}`);
    url = next.href;
  }
  throw new Error('sign-in did not reach the callback');
}

/** The sign-out page's form action, as the browser would read it. */
function formAction(html: string): string {
  const raw = /<form method="post" action="([^"]*)"/.exec(html)?.[1];
  assert.ok(raw !== undefined, 'a sign-out form');
  return raw.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

describe('/auth/logout?rd=', () => {
  for (const payload of PAYLOADS) {
    test(JSON.stringify(payload), async () => {
      const mark = w.log.mark();
      const page = await fetch(`${w.base}/auth/logout?rd=${encodeURIComponent(payload)}`, {
        redirect: 'manual',
        headers: { accept: 'text/html' },
      });
      assert.equal(page.status, 200);
      const action = new URL(formAction(await page.text()), w.base);
      assert.equal(action.origin + action.pathname, `${w.base}/auth/logout`);
      const rd = action.searchParams.get('rd');
      if (rd !== null) assertOwnPath(rd, payload);
      const res = await fetch(`${w.base}/auth/logout?rd=${encodeURIComponent(payload)}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { origin: w.base },
      });
      assert.equal(res.status, 303);
      assertOwnPath(res.headers.get('location') ?? undefined, payload);
      assertNoInjectedHeader(res);
      await assertAftermath(w, { status: res.status, headers: {}, body: await res.text() }, mark);
    });
  }
});

describe('/auth/login?rd= through a whole sign-in', () => {
  for (const payload of PAYLOADS) {
    test(JSON.stringify(payload), async () => {
      const mark = w.log.mark();
      const { location, res } = await signInReturnsTo(payload);
      assert.equal(res.status, 302);
      assertOwnPath(location, payload);
      if (/evil|script|data:/i.test(payload))
        assert.equal(location, '/', 'an unsafe rd falls back to the portal');
      assertNoInjectedHeader(res);
      await assertAftermath(w, { status: res.status, headers: {}, body: '' }, mark);
    });
  }
  test('control: a proxied path with a query survives the round trip', async () => {
    const rd = `${WEB}/page?x=1&y=%2F`;
    const { location } = await signInReturnsTo(rd);
    assert.equal(location, rd);
  });
});
