/**
 * Browser sign-in scripted without a browser, against the real oidc-provider
 * and a real upstream: sign in, reach the upstream, refresh (once, even under
 * concurrency), sign out; a sign-in begun on one replica finishing on
 * another; and what tampered, truncated, replayed and old-secret cookies get.
 * (The same flow through the whole gateway in Chromium: chromium-e2e.test.ts.)
 *
 * Time is the gateway's injected clock, moved forward by the tests: a session
 * falls due for refresh, idles out or ends without anyone waiting for it. The
 * IdP keeps real time; only what the gateway decides about lifetimes moves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import { ManualClock } from '../support/manual-clock.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { ECHO_PATH, SECRET, startSignInApp } from './gateway-fixture.js';
import type { AuthApp } from './helpers.js';

const TOKEN_TTL = 4; // seconds: sessions become due for refresh after 2 s
/** Past the moment a fresh session falls due for refresh. */
const DUE_MS = (TOKEN_TTL / 2) * 1000 + 300;
const clock = new ManualClock();

let idp: TestIdP;
let echo: EchoServer;
const apps: AuthApp[] = [];
let publicURL: string;
const publicURLs = new Set<string>();
let a: AuthApp;
let b: AuthApp;

/** An instance whose publicURL is its own URL (on a port it got by listening), known to the IdP. */
async function app(session: Record<string, unknown> = {}): Promise<AuthApp> {
  const started = await startSignInApp({ idp, echo, session, clock });
  apps.push(started);
  publicURLs.add(started.url);
  idp.setClients([gatewayClient([...publicURLs])]);
  return started;
}

before(async () => {
  idp = await startTestIdP({ accessTokenTTL: TOKEN_TTL });
  echo = await startEchoServer();
  a = await app();
  publicURL = a.url;
  // Replica B: same publicURL and secret, its own port (think: behind the same load balancer).
  b = await startSignInApp({ idp, echo, publicURL, port: 0, clock });
  apps.push(b);
});

after(async () => {
  await Promise.allSettled(apps.map((x) => x.close()));
  await Promise.allSettled([idp?.close(), echo?.close()]);
});

const ours = (browser: FetchBrowser) =>
  [...browser.cookies()].filter(([k]) => k.startsWith('kube_bastion')).map(([k]) => k);
const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
const whoami = (browser: FetchBrowser, base = a.url) =>
  browser.request(`${base}/auth/whoami`, { headers: { accept: 'application/json' } });
/** What the sign-out page's button does: a POST from a page of the gateway. */
const signOut = (browser: FetchBrowser, base = a.url) =>
  browser.request(`${base}/auth/logout`, { method: 'POST', headers: { origin: base } });

/** A user at the IdP whose password is their name. */
function addUser(user: string, groups = ['team-a']): void {
  idp.users.set(user, { password: user, email: `${user}@example.com`, email_verified: true, groups });
}

async function signedIn(user = 'alice'): Promise<FetchBrowser> {
  const browser = new FetchBrowser();
  const res = await browser.signIn(`${a.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`, user);
  assert.equal(res.status, 200, await res.text());
  return browser;
}

describe('sign in, use, sign out', () => {
  const browser = new FetchBrowser();

  test('an unauthenticated browser is sent to sign in; an API client gets 401 with WWW-Authenticate: Bearer', async () => {
    const page = await browser.request(`${a.url}${ECHO_PATH}hello?x=1`);
    assert.equal(page.status, 302);
    assert.equal(
      page.headers.get('location'),
      `/auth/login?rd=${encodeURIComponent(`${ECHO_PATH}hello?x=1`)}`,
    );
    const api = await fetch(`${a.url}${ECHO_PATH}hello`, { headers: { accept: 'application/json' } });
    assert.equal(api.status, 401);
    assert.match(api.headers.get('www-authenticate') ?? '', /^Bearer/);
  });

  test('signing in as alice lands back on the page she asked for, with her identity upstream', async () => {
    const res = await browser.signIn(`${a.url}${ECHO_PATH}hello?x=1`, 'alice');
    assert.equal(res.status, 200);
    assert.equal(echo.last()!.url, `${ECHO_PATH}hello?x=1`);
    assert.equal(echo.last()!.headers['x-forwarded-user'], 'alice@example.com');
  });

  test('the authorization request used PKCE, state and nonce, and the configured scopes', () => {
    const auth = browser.hops.find((h) => h.url.startsWith(`${idp.issuer}/auth?`))!;
    const params = new URL(auth.url).searchParams;
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.ok(params.get('code_challenge') && params.get('state') && params.get('nonce'));
    assert.equal(params.get('redirect_uri'), `${publicURL}/auth/callback`);
    assert.equal(params.get('scope'), 'openid email profile groups offline_access');
  });

  test('the session cookie is HttpOnly, SameSite=Lax, small; the sign-in cookie is cleared', () => {
    const callback = browser.hops.find((h) => h.url.startsWith(`${publicURL}/auth/callback`))!;
    const session = callback.setCookies.find((c) => c.startsWith('kube_bastion='))!;
    assert.match(session, /HttpOnly/);
    assert.match(session, /SameSite=Lax/);
    assert.match(session, /Path=\//);
    assert.doesNotMatch(session, /Secure/, 'plain http on loopback');
    assert.ok(session.length < 1500, `cookie is ${session.length} bytes`);
    assert.ok(callback.setCookies.some((c) => c.startsWith('kube_bastion_login=;')));
    assert.deepEqual(ours(browser), ['kube_bastion']);
  });

  test('/auth/whoami shows who she is, on either replica, and never the IdP tokens', async () => {
    for (const base of [a.url, b.url]) {
      const res = await whoami(browser, base);
      const text = await res.text();
      const me = JSON.parse(text) as Record<string, unknown>;
      assert.equal(me.username, 'alice@example.com');
      assert.deepEqual(me.groups, ['team-a', 'devs', 'system:authenticated']);
      assert.equal(me.method, 'session');
      assert.doesNotMatch(text, /eyJ/, 'no token in the response');
    }
  });

  test('signing out expires every gateway cookie and signs out at the IdP (RP-initiated logout)', async () => {
    browser.cookies().set('kube_bastion_login', 'a-sign-in-left-half-way');
    const res = await signOut(browser);
    assert.equal(res.status, 303);
    const lines = browser.hops.at(-1)!.setCookies;
    for (const name of ['kube_bastion', 'kube_bastion_1', 'kube_bastion_7', 'kube_bastion_login'])
      assert.ok(
        lines.some((c) => c.startsWith(`${name}=;`) && /Max-Age=0/i.test(c)),
        `${name} expired: ${lines.join(' | ')}`,
      );
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.origin + location.pathname, `${idp.issuer}/session/end`);
    assert.equal(location.searchParams.get('client_id'), 'kube-bastion');
    assert.equal(location.searchParams.get('post_logout_redirect_uri'), `${publicURL}/`);
    assert.deepEqual(ours(browser), []);
    assert.equal((await browser.request(`${a.url}${ECHO_PATH}`)).status, 302, 'signed out');
  });
});

describe('replicas', () => {
  test('a sign-in started on replica B finishes on replica A (the public URL), then works on B', async () => {
    const browser = new FetchBrowser();
    await browser.signIn(`${b.url}/auth/login?rd=${encodeURIComponent(`${ECHO_PATH}from-b`)}`, 'alice');
    const callback = browser.hops.find((h) => h.url.includes('/auth/callback'))!;
    assert.ok(callback.url.startsWith(publicURL), 'the IdP returned to the public URL (replica A)');
    assert.equal(callback.status, 302);
    assert.equal(callback.location, `${ECHO_PATH}from-b`);
    const onB = await browser.request(`${b.url}${ECHO_PATH}on-b`);
    assert.equal(onB.status, 200);
    assert.equal(echo.last()!.headers['x-forwarded-user'], 'alice@example.com');
  });
});

describe('refresh', () => {
  test('before the tokens expire the refresh token renews the session, with changes made at the IdP', async () => {
    const browser = await signedIn('bob');
    const before = idp.grants.refresh_token;
    const cookieBefore = browser.cookies().get('kube_bastion');
    idp.users.get('bob')!.groups = ['team-b', 'oncall'];
    clock.advance(DUE_MS);
    const res = await whoami(browser);
    assert.equal(res.status, 200);
    assert.deepEqual((await json(res)).groups, ['team-b', 'oncall', 'system:authenticated']);
    assert.equal(idp.grants.refresh_token, before + 1);
    assert.notEqual(browser.cookies().get('kube_bastion'), cookieBefore, 'the renewed session was sent back');
  });

  test('concurrent requests with an expiring session refresh once (rotating refresh tokens survive)', async () => {
    const browser = await signedIn();
    clock.advance(DUE_MS);
    const before = idp.grants.refresh_token;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => browser.request(`${a.url}${ECHO_PATH}burst`)),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    assert.equal(idp.grants.refresh_token, before + 1);
    assert.equal((await whoami(browser)).status, 200, 'still signed in with the rotated refresh token');
  });

  test('when the IdP omits a new id_token, groups are read again from userinfo (one call per refresh)', async () => {
    addUser('erin');
    const browser = await signedIn('erin');
    idp.omitIdTokenOnRefresh = true;
    idp.users.get('erin')!.groups = ['team-a', 'auditors'];
    try {
      clock.advance(DUE_MS);
      const before = { refresh: idp.grants.refresh_token, userinfo: idp.userinfoCalls };
      const res = await whoami(browser);
      assert.equal(res.status, 200);
      const me = await json(res);
      assert.equal(me.username, 'erin@example.com');
      assert.deepEqual(
        me.groups,
        ['team-a', 'auditors', 'system:authenticated'],
        'the groups the IdP has now, not the ones at sign-in',
      );
      assert.equal(idp.grants.refresh_token, before.refresh + 1);
      assert.equal(idp.userinfoCalls, before.userinfo + 1, 'the new access token was checked at userinfo');
      assert.equal((await whoami(browser)).status, 200);
      assert.equal(idp.userinfoCalls, before.userinfo + 1, 'once per refresh, not per request');
    } finally {
      idp.omitIdTokenOnRefresh = false;
    }
  });

  test('when userinfo refuses the renewed access token the session ends: 401 and cookies cleared', async () => {
    const browser = await signedIn();
    idp.omitIdTokenOnRefresh = true;
    idp.rejectUserinfo = true;
    try {
      clock.advance(DUE_MS);
      const before = idp.userinfoCalls;
      const res = await whoami(browser);
      assert.equal(res.status, 401);
      assert.match(String((await json(res)).message), /could not be renewed; sign in again/);
      assert.equal(idp.userinfoCalls, before + 1);
      assert.deepEqual(ours(browser), [], 'cookies cleared');
    } finally {
      idp.omitIdTokenOnRefresh = false;
      idp.rejectUserinfo = false;
    }
  });

  test('a user removed at the IdP is signed out at the next refresh', async () => {
    addUser('carol');
    const browser = await signedIn('carol');
    idp.users.delete('carol');
    clock.advance(DUE_MS);
    const res = await whoami(browser);
    assert.equal(res.status, 401);
    assert.deepEqual(ours(browser), [], 'cookies cleared');
  });
});

/**
 * Starts a sign-in and goes through the IdP's pages as `user`, stopping just
 * before the callback: returns its URL (code + state) without visiting it.
 */
async function callbackURL(browser: FetchBrowser, user: string): Promise<URL> {
  let url = `${a.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`;
  let init: Parameters<FetchBrowser['request']>[1] = {};
  for (let hop = 0; hop < 20; hop++) {
    const res = await browser.request(url, init);
    init = {};
    const location = res.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (next.pathname === '/auth/callback') return next;
      await res.arrayBuffer();
      url = next.href;
      continue;
    }
    const action = /action="([^"]+)"/.exec(await res.text())?.[1];
    assert.ok(action, `no login form at ${url}`);
    url = new URL(action, url).href;
    init = {
      method: 'POST',
      body: new URLSearchParams({ login: user, password: user }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    };
  }
  throw new Error('the IdP never sent the browser back to /auth/callback');
}

describe("the callback checks that the answer belongs to this browser's sign-in", () => {
  /** The callback's answer: a 400 page that says what to do, and no session. */
  async function refused(browser: FetchBrowser, url: URL) {
    const res = await browser.request(url.href);
    const page = await res.text();
    assert.equal(res.status, 400, page);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page, /sign in anew/);
    assert.doesNotMatch(page, /\bat .*\.(ts|js):\d+/, 'no stack trace');
    const hop = browser.hops.at(-1)!;
    assert.ok(
      !hop.setCookies.some((c) => c.startsWith('kube_bastion=') && !/Max-Age=0/i.test(c)),
      'no session cookie',
    );
    assert.deepEqual(ours(browser), [], 'and the one-shot sign-in cookie is gone');
    assert.equal((await whoami(browser)).status, 401, 'not signed in');
    return page;
  }

  test('a sign-in cookie past its sealed deadline (10 minutes) is refused, whatever the browser kept', async () => {
    const browser = new FetchBrowser();
    const url = await callbackURL(browser, 'alice');
    clock.advance(601_000); // a copied login cookie, or a browser that ignores Max-Age
    assert.match(await refused(browser, url), /this sign-in has expired/);
  });

  test('a tampered state is refused', async () => {
    const browser = new FetchBrowser();
    const url = await callbackURL(browser, 'alice');
    url.searchParams.set('state', `${url.searchParams.get('state')}x`);
    assert.match(await refused(browser, url), /does not belong to the sign-in this browser started/);
  });

  test("login CSRF: the attacker's callback (their code and state) in the victim's browser is refused", async () => {
    const attacker = new FetchBrowser();
    const planted = await callbackURL(attacker, 'bob');
    const victim = new FetchBrowser();
    await callbackURL(victim, 'alice'); // the victim has a sign-in of her own under way
    assert.match(await refused(victim, planted), /does not belong to the sign-in this browser started/);
  });

  test("a code from another sign-in, with this browser's own state, is refused (PKCE and nonce bind the code)", async () => {
    const attacker = new FetchBrowser();
    const planted = await callbackURL(attacker, 'bob');
    const victim = new FetchBrowser();
    const own = await callbackURL(victim, 'alice');
    own.searchParams.set('code', planted.searchParams.get('code')!);
    assert.match(await refused(victim, own), /did not accept the sign-in code/);
  });
});

describe('session fixation', () => {
  test('a planted session does not outlive a sign-in: the callback writes a new session over every chunk the browser sent', async () => {
    const planted = (await signedIn('bob')).cookies().get('kube_bastion')!;
    const victim = new FetchBrowser();
    victim.cookies().set('kube_bastion', planted);
    victim.cookies().set('kube_bastion_1', 'left-over-chunk');
    const res = await victim.signIn(`${a.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`, 'alice');
    assert.equal(res.status, 200);
    const callback = victim.hops.find((h) => h.url.startsWith(`${a.url}/auth/callback`))!;
    assert.ok(
      callback.setCookies.some((c) => c.startsWith('kube_bastion_1=;') && /Max-Age=0/i.test(c)),
      `the left-over chunk expired: ${callback.setCookies.join(' | ')}`,
    );
    assert.deepEqual(ours(victim), ['kube_bastion'], 'one chunk: the new session');
    assert.notEqual(victim.cookies().get('kube_bastion'), planted);
    assert.equal((await json(await whoami(victim))).username, 'alice@example.com');
  });

  test('/auth/login leaves the session alone: it is a GET any sibling page can send (logout CSRF)', async () => {
    const browser = await signedIn('alice');
    const session = browser.cookies().get('kube_bastion');
    const login = await browser.request(`${a.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`);
    assert.equal(login.status, 302);
    assert.deepEqual(
      browser.hops.at(-1)!.setCookies.filter((c) => !c.startsWith('kube_bastion_login=')),
      [],
      'no Set-Cookie but the sign-in cookie',
    );
    assert.equal(browser.cookies().get('kube_bastion'), session);
    assert.equal((await json(await whoami(browser))).username, 'alice@example.com', 'still signed in');
  });
});

describe('cookies that are not what we issued', () => {
  const api = { accept: 'application/json' };

  test('a tampered cookie is refused: browsers go to sign in, API clients get 401, the cookie is cleared', async () => {
    const browser = await signedIn();
    const value = browser.cookies().get('kube_bastion')!;
    const i = Math.floor(value.length / 2);
    browser
      .cookies()
      .set('kube_bastion', value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1));
    const page = await browser.request(`${a.url}${ECHO_PATH}`);
    assert.equal(page.status, 302);
    assert.match(page.headers.get('location')!, /^\/auth\/login\?rd=/);
    assert.deepEqual(ours(browser), [], 'the bad cookie was cleared');
  });

  test('a truncated cookie is refused with a clear message', async () => {
    const browser = await signedIn();
    browser.cookies().set('kube_bastion', browser.cookies().get('kube_bastion')!.slice(0, -12));
    const res = await browser.request(`${a.url}${ECHO_PATH}`, { headers: api });
    assert.equal(res.status, 401);
    assert.match(String((await json(res)).message), /session is invalid/);
  });

  test('a cookie sealed with the previous secret is accepted and re-issued under the new one', async () => {
    const browser = await signedIn();
    const rotated = await app({
      secret: 'the-new-session-secret-after-rotation!',
      previousSecrets: [SECRET],
    });
    const old = browser.cookies().get('kube_bastion');
    const res = await whoami(browser, rotated.url);
    assert.equal(res.status, 200);
    assert.notEqual(browser.cookies().get('kube_bastion'), old, 're-sealed under the new secret');
    const onlyNew = await app({ secret: 'the-new-session-secret-after-rotation!' });
    assert.equal(
      (await whoami(browser, onlyNew.url)).status,
      200,
      'the re-issued cookie needs no old secret',
    );
  });

  test('a cookie sealed with a secret that is no longer listed is refused', async () => {
    const browser = await signedIn();
    const other = await app({ secret: 'a-completely-different-secret-0123456789' });
    const res = await browser.request(`${other.url}/auth/whoami`, { headers: api });
    assert.equal(res.status, 401);
  });

  test('a cookie copied before sign-out stops working when it next needs a refresh (the refresh token was revoked)', async () => {
    const browser = await signedIn();
    const copy = browser.cookies().get('kube_bastion')!;
    assert.equal((await signOut(browser)).status, 303);
    const thief = () => {
      const browser = new FetchBrowser();
      browser.cookies().set('kube_bastion', copy);
      return browser;
    };
    // On the replica that signed it out the copy is refused at once; elsewhere, at its next refresh.
    assert.equal((await thief().request(`${a.url}${ECHO_PATH}`, { headers: api })).status, 401);
    assert.equal((await thief().request(`${b.url}${ECHO_PATH}`, { headers: api })).status, 200);
    clock.advance(DUE_MS);
    const res = await thief().request(`${b.url}${ECHO_PATH}`, { headers: api });
    assert.equal(res.status, 401);
  });
});

describe('large sessions', () => {
  const withGroups = (user: string, count: number) =>
    addUser(user, [
      'team-a',
      ...Array.from({ length: count }, (_, i) => `a-rather-long-group-name-number-${i}`),
    ]);

  test('a user with many groups gets a session split over numbered cookies; sign-out expires every chunk', async () => {
    withGroups('dave', 150);
    const browser = await signedIn('dave');
    const names = ours(browser);
    assert.deepEqual(names.slice(0, 2), ['kube_bastion', 'kube_bastion_1'], `chunks: ${names.join(', ')}`);
    for (const [name, value] of browser.cookies())
      if (name.startsWith('kube_bastion')) assert.ok(value.length <= 3800);
    const me = await json(await whoami(browser));
    assert.equal((me.groups as string[]).length, 152, '151 from the IdP, and system:authenticated');
    await signOut(browser);
    assert.deepEqual(ours(browser), []);
  });

  test('a session that would not fit in what the listener accepts is refused at sign-in, with a page that says to use Redis', async () => {
    withGroups('frank', 300); // ~14 KB sealed: every later request would be over listen.maxHeaderBytes (16 KB)
    const browser = new FetchBrowser();
    const res = await browser.signIn(`${a.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`, 'frank');
    const page = await res.text();
    assert.equal(res.status, 403, page);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page, /301 groups/);
    assert.match(page, /store: redis/);
    assert.deepEqual(ours(browser), [], 'no session cookie, and the sign-in cookie is gone');
    assert.equal((await browser.request(`${a.url}/auth/login`)).status, 302, 'signing in is still possible');
  });
});

describe('absolute lifetime', () => {
  test('a session kept active and refreshed still ends at session.ttl, with a message that says so', async () => {
    const limited = await app({ ttl: '6s' });
    const browser = new FetchBrowser();
    const signIn = await browser.signIn(
      `${limited.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`,
      'alice',
    );
    assert.equal(signIn.status, 200);
    const before = idp.grants.refresh_token;
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      assert.equal((await whoami(browser, limited.url)).status, 200, `active after ${i + 1} s`);
    }
    const refreshed = idp.grants.refresh_token;
    assert.ok(refreshed > before, 'the tokens were renewed along the way');
    clock.advance(3000); // past the 6 s lifetime, though the refresh token is still good
    const res = await whoami(browser, limited.url);
    assert.equal(res.status, 401);
    assert.match(String((await json(res)).message), /your session has expired; sign in again/);
    assert.deepEqual(ours(browser), [], 'cookies cleared');
    assert.equal(idp.grants.refresh_token, refreshed, 'no refresh past the end of the session');
  });
});

describe('idle timeout', () => {
  test('activity keeps a session alive; a pause longer than idleTimeout ends it', async () => {
    const idle = await app({ idleTimeout: '3s' });
    const browser = new FetchBrowser();
    const signIn = await browser.signIn(
      `${idle.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`,
      'alice',
    );
    assert.equal(signIn.status, 200);
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      assert.equal((await whoami(browser, idle.url)).status, 200, `active after ${i + 1} s`);
    }
    clock.advance(3300);
    const res = await whoami(browser, idle.url);
    assert.equal(res.status, 401);
    assert.match(String((await json(res)).message), /inactivity/);
  });
});
