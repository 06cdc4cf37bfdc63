/**
 * Sign-out changes state only on a POST that a page of the gateway sent
 * (logout CSRF: a link, an <img>, a prefetch or another site's form must not
 * sign anybody out). A GET shows the sign-out page with its button; a POST
 * whose Origin (or, without one, Sec-Fetch-Site, or Referer) is not the
 * gateway's is refused and the session goes on. (The Chromium version of the
 * button: chromium-e2e.test.ts; the rd payloads: test/security/redirects.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { ECHO_PATH, startSignInApp } from './gateway-fixture.js';
import type { AuthApp } from './helpers.js';

let idp: TestIdP;
let echo: EchoServer;
let app: AuthApp;

before(async () => {
  [idp, echo] = await Promise.all([startTestIdP(), startEchoServer()]);
  app = await startSignInApp({ idp, echo });
  idp.setClients([gatewayClient(app.url)]);
});

after(async () => {
  await app?.close();
  await Promise.allSettled([idp?.close(), echo?.close()]);
});

/** Our cookies in the jar (the IdP's, on the same host, are not). */
const ours = (browser: FetchBrowser) =>
  [...browser.cookies().keys()].filter((k) => k.startsWith('kube_bastion'));

async function signedIn(): Promise<FetchBrowser> {
  const browser = new FetchBrowser();
  const res = await browser.signIn(`${app.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`, 'alice');
  assert.equal(res.status, 200);
  return browser;
}

const stillSignedIn = async (browser: FetchBrowser) =>
  assert.equal(
    (await browser.request(`${app.url}/auth/whoami`, { headers: { accept: 'application/json' } })).status,
    200,
    'the session goes on',
  );

const post = (browser: FetchBrowser, headers: Record<string, string>, accept = 'text/html') =>
  browser.request(`${app.url}/auth/logout`, { method: 'POST', headers: { accept, ...headers } });

describe('GET /auth/logout', () => {
  test('shows the sign-out page with a button that posts; nothing is signed out', async () => {
    const browser = await signedIn();
    const res = await browser.request(`${app.url}/auth/logout`);
    const page = await res.text();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(
      page,
      /<form method="post" action="\/auth\/logout"><button type="submit">Sign out<\/button>/,
    );
    assert.match(page, /signed in as <strong>alice@example\.com<\/strong>/);
    assert.deepEqual(res.headers.getSetCookie(), [], 'no cookie touched');
    assert.match(
      res.headers.get('content-security-policy') ?? '',
      new RegExp(`form-action 'self' ${idp.issuer}`),
      'the form may be answered with a redirect to the IdP',
    );
    await stillSignedIn(browser);
  });

  test('keeps a safe rd in the form; drops an unsafe one', async () => {
    const browser = new FetchBrowser();
    const safe = await (
      await browser.request(`${app.url}/auth/logout?rd=${encodeURIComponent('/x?y=1')}`)
    ).text();
    assert.match(safe, /action="\/auth\/logout\?rd=%2Fx%3Fy%3D1"/);
    const evil = await (await browser.request(`${app.url}/auth/logout?rd=//evil.example`)).text();
    assert.match(evil, /action="\/auth\/logout"/);
  });
});

describe('POST /auth/logout', () => {
  test('from a page of the gateway (Origin): signed out, every cookie expired, on to the IdP', async () => {
    const browser = await signedIn();
    const res = await post(browser, { origin: app.url });
    assert.equal(res.status, 303);
    assert.ok(res.headers.get('location')!.startsWith(`${idp.issuer}/session/end`));
    assert.deepEqual(ours(browser), []);
  });

  const refusals: [string, Record<string, string>][] = [
    ['another site (Origin)', { origin: 'https://evil.example' }],
    ['another port of the same host', { origin: 'http://127.0.0.1:1' }],
    ['an opaque origin (Origin: null, sandboxed frames)', { origin: 'null' }],
    ['no Origin, Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['no Origin, Sec-Fetch-Site: same-site (a sibling subdomain)', { 'sec-fetch-site': 'same-site' }],
    ['no Origin, a foreign Referer', { referer: 'https://evil.example/page' }],
    ['nothing that says where it came from', {}],
  ];
  for (const [name, headers] of refusals) {
    test(`from ${name}: 403, the session goes on`, async () => {
      const browser = await signedIn();
      const res = await post(browser, headers);
      assert.equal(res.status, 403);
      const page = await res.text();
      assert.match(page, /did not come from a page of this gateway/);
      assert.match(
        page,
        /<form method="post" action="\/auth\/logout">/,
        'with the button to sign out for real',
      );
      assert.deepEqual(res.headers.getSetCookie(), []);
      await stillSignedIn(browser);
    });
  }

  test('without Origin, Sec-Fetch-Site: same-origin or a same-origin Referer are enough', async () => {
    const proofs: Record<string, string>[] = [
      { 'sec-fetch-site': 'same-origin' },
      { referer: `${app.url}/auth/logout` },
    ];
    for (const headers of proofs) {
      const browser = await signedIn();
      assert.equal((await post(browser, headers)).status, 303, JSON.stringify(headers));
      assert.deepEqual(ours(browser), []);
    }
  });

  test('an API client refused gets a Status', async () => {
    const browser = await signedIn();
    const res = await post(browser, { origin: 'https://evil.example' }, 'application/json');
    assert.equal(res.status, 403);
    const status = (await res.json()) as { kind: string; code: number };
    assert.equal(status.kind, 'Status');
    assert.equal(status.code, 403);
  });
});

test('other methods get 405 with Allow', async () => {
  const res = await fetch(`${app.url}/auth/logout`, { method: 'PUT', headers: { origin: app.url } });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET, HEAD, POST');
});
