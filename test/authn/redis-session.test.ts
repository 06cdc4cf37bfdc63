/**
 * `session.store: redis` with a real redis-server: the cookie is only a
 * sealed handle, sign-out takes effect at once (even for a copied cookie, and
 * even against a request that was in flight), two replicas refreshing the same
 * session redeem the refresh token once, and a Redis that stalls (SIGSTOP) or
 * goes away costs a request a bounded wait and a 503 — never a hang, and never
 * a sign-out that reports success while the session lives on.
 *
 * The gateway's clock is injected and moved by the tests (refresh due, the
 * per-replica read cache expired); the IdP and Redis keep real time.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { RedisSessionStore } from '../../src/authn/session/redis-store.js';
import { SealedBox } from '../../src/authn/session/sealed-box.js';
import type { Session } from '../../src/authn/session/session.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { eventually } from '../support/eventually.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import { ManualClock } from '../support/manual-clock.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { ECHO_PATH, SECRET, startSignInApp } from './gateway-fixture.js';
import type { AuthApp } from './helpers.js';

const TOKEN_TTL = 4;
const DUE_MS = (TOKEN_TTL / 2) * 1000 + 300;
/** Past the per-replica read cache (1 s): the next request reads Redis. */
const PAST_CACHE_MS = 1100;
const clock = new ManualClock();
let idp: TestIdP;
let echo: EchoServer;
let redis: RedisServer;
let a: AuthApp;
let b: AuthApp;
let publicURL: string;

const sessionConfig = () => ({
  store: 'redis' as const,
  // Shorter than production's 2 s, so the stalled-Redis tests wait less; not so short that a loaded
  // machine's slow answer passes for a stall (300 ms once turned a concurrent refresh into a 503 in CI).
  redis: { url: redis.url, commandTimeout: '1s' },
});

before(async () => {
  [idp, echo, redis] = await Promise.all([
    startTestIdP({ accessTokenTTL: TOKEN_TTL }),
    startEchoServer(),
    startRedis(),
  ]);
  a = await startSignInApp({ idp, echo, session: sessionConfig(), clock });
  publicURL = a.url;
  idp.setClients([gatewayClient(publicURL)]);
  b = await startSignInApp({ idp, echo, publicURL, port: 0, session: sessionConfig(), clock });
});

after(async () => {
  redis?.resume();
  await Promise.allSettled([a?.close(), b?.close()]);
  await Promise.allSettled([idp?.close(), echo?.close(), redis?.stop()]);
});

async function signedIn(user = 'alice', app = a): Promise<FetchBrowser> {
  const browser = new FetchBrowser();
  const res = await browser.signIn(`${app.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`, user);
  assert.equal(res.status, 200);
  return browser;
}
const api = { accept: 'application/json' };
const whoami = (browser: FetchBrowser, app = a, accept = 'application/json') =>
  browser.request(`${app.url}/auth/whoami`, { headers: { accept } });
const signOut = (browser: FetchBrowser, app = a) =>
  browser.request(`${app.url}/auth/logout`, { method: 'POST', headers: { origin: publicURL } });
/** A browser that has nothing but a copy of someone's session cookie. */
const thief = (copy: string) => {
  const browser = new FetchBrowser();
  browser.cookies().set('kube_bastion', copy);
  return browser;
};
const message = async (res: Response) => ((await res.json()) as { message: string }).message;

test('the cookie holds only a small handle, even for a user with hundreds of groups', async () => {
  const groups = Array.from({ length: 300 }, (_, i) => `a-rather-long-group-name-number-${i}`);
  idp.users.set('dave', {
    password: 'dave',
    email: 'dave@example.com',
    email_verified: true,
    groups: ['team-a', ...groups],
  });
  const browser = await signedIn('dave');
  const names = [...browser.cookies().keys()].filter((k) => k.startsWith('kube_bastion'));
  assert.deepEqual(names, ['kube_bastion']);
  assert.ok(browser.cookies().get('kube_bastion')!.length < 200);
  const me = (await (await whoami(browser, b)).json()) as { groups: string[] };
  assert.equal(
    me.groups.length,
    302,
    'replica B reads the same session (301 groups and system:authenticated)',
  );
});

test('sign-out is immediate: a copy of the cookie is refused right away, with the id_token as logout hint', async () => {
  const browser = await signedIn();
  const copy = browser.cookies().get('kube_bastion')!;
  const res = await signOut(browser);
  assert.equal(res.status, 303);
  const location = new URL(res.headers.get('location')!);
  assert.ok(location.searchParams.get('id_token_hint')?.startsWith('eyJ'), 'id_token_hint sent');
  assert.equal((await whoami(thief(copy), b)).status, 401);
});

test('a new sign-in in the same browser ends the session it had before', async () => {
  const browser = await signedIn('alice');
  const previous = browser.cookies().get('kube_bastion')!;
  await signedIn('bob'); // unrelated: another browser
  const again = await browser.signIn(`${a.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`, 'bob');
  assert.equal(again.status, 200);
  assert.notEqual(browser.cookies().get('kube_bastion'), previous);
  assert.equal((await whoami(browser)).status, 200, 'the new session works');
  clock.advance(PAST_CACHE_MS);
  assert.equal((await whoami(thief(previous), b)).status, 401, 'the old handle is dead on every replica');
});

test('two replicas refreshing the same session at once redeem the refresh token once', async () => {
  const browser = await signedIn();
  clock.advance(DUE_MS);
  const before = idp.grants.refresh_token;
  const results = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      browser.request(`${(i % 2 ? a : b).url}${ECHO_PATH}x`, { headers: api }),
    ),
  );
  assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
  assert.equal(idp.grants.refresh_token, before + 1);
});

test('with an IdP that does not rotate refresh tokens, two replicas still refresh once', async () => {
  // The refresh token comes back unchanged, so "has someone refreshed?" must not be judged by it.
  const ttl = 8;
  const steady = await startTestIdP({ accessTokenTTL: ttl, rotateRefreshToken: false });
  const one = await startSignInApp({ idp: steady, echo, session: sessionConfig(), clock });
  const url = one.url;
  steady.setClients([gatewayClient(url)]);
  const two = await startSignInApp({
    idp: steady,
    echo,
    publicURL: url,
    port: 0,
    session: sessionConfig(),
    clock,
  });
  try {
    const browser = new FetchBrowser();
    const res = await browser.signIn(`${one.url}/auth/login?rd=${encodeURIComponent(ECHO_PATH)}`, 'alice');
    assert.equal(res.status, 200);
    const handle = browser.cookies().get('kube_bastion');
    clock.advance((ttl / 2) * 1000 + 300);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        browser.request(`${(i % 2 ? one : two).url}${ECHO_PATH}x`, { headers: api }),
      ),
    );
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
    assert.equal(steady.grants.refresh_token, 1, 'one refresh at the IdP for both replicas');
    assert.equal(browser.cookies().get('kube_bastion'), handle, 'the handle cookie is unchanged');
    clock.advance(PAST_CACHE_MS); // both replicas read the refreshed session from Redis
    for (const replica of [one, two]) assert.equal((await whoami(browser, replica)).status, 200);
    assert.equal(steady.grants.refresh_token, 1, 'the refreshed session is not due again');
  } finally {
    await Promise.allSettled([one.close(), two.close()]);
    await steady.close();
  }
});

test('a request in flight during sign-out cannot bring the session back (its refresh lands after the delete)', async () => {
  const browser = await signedIn();
  const copy = browser.cookies().get('kube_bastion')!;
  clock.advance(DUE_MS);
  let release!: () => void;
  idp.holdToken = new Promise<void>((r) => (release = r));
  const grants = idp.grants.refresh_token;
  try {
    const inFlight = whoami(thief(copy)); // refreshes: the IdP renews the tokens, then holds its answer
    await eventually(() => idp.grants.refresh_token === grants + 1, 5000);
    assert.equal((await signOut(browser)).status, 303, 'signed out meanwhile');
    release();
    assert.equal((await inFlight).status, 401, 'the request that was in flight is refused');
  } finally {
    release();
    idp.holdToken = undefined;
  }
  clock.advance(PAST_CACHE_MS);
  for (const replica of [a, b]) assert.equal((await whoami(thief(copy), replica)).status, 401);
});

async function redisKeys(pattern: string): Promise<string[]> {
  const client = new Redis(redis.url, { lazyConnect: true });
  try {
    await client.connect();
    return await client.keys(pattern);
  } finally {
    client.disconnect();
  }
}

/** The store on its own, on the test's Redis and clock, with one fresh session in it. */
async function storeWithSession(name: string) {
  const store = new RedisSessionStore({
    url: redis.url,
    box: await SealedBox.create([SECRET], 'handle'),
    commandTimeoutMs: 1000,
    now: () => clock.now(),
  });
  const t = Math.floor(clock.now() / 1000);
  const session: Session = {
    sid: `${name}-${t}`,
    user: { username: 'alice', groups: ['team-a'], extra: {} },
    sub: 'alice',
    iat: t,
    exp: t + 3600,
    seen: t,
    rt: 'rt-1',
  };
  return { store, session, t, handle: await store.create(session) };
}

test('in the store: a refresh or an idle-deadline write that finishes after destroy() stores nothing', async () => {
  const { store, session, t, handle } = await storeWithSession('race');
  try {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const refreshing = store.singleFlight(session, async () => {
      await held;
      return { ...session, rt: 'rt-2', gen: 1 };
    });
    const touched = { ...session, seen: t + 60 };
    await store.destroy(session); // sign-out, while both are under way
    release();
    assert.equal(await refreshing, undefined, 'the refresh reports the session over');
    assert.deepEqual(await store.update(touched, 0), { refused: 'gone' });
    clock.advance(PAST_CACHE_MS);
    assert.equal(await store.load(handle), undefined, 'the handle is dead');
    assert.deepEqual(await redisKeys(`kube-bastion:session:${session.sid}`), [], 'nothing of it in Redis');
  } finally {
    await store.close();
  }
});

test('in the store: a read answered before the sign-out reached Redis does not bring the session back to this replica', async () => {
  const { store, session, handle } = await storeWithSession('reread');
  try {
    assert.equal((await store.load(handle))?.sid, session.sid); // the replica knows the handle
    clock.advance(PAST_CACHE_MS); // and its read cache is empty: the next load asks Redis
    redis.pause(); // Redis holds every command (SIGSTOP) until resume(): the order below is the order it sees
    const inFlight = store.load(handle); // a request's read (a WebSocket's recheck, a page's image) is sent …
    await new Promise((resolve) => setImmediate(resolve));
    const signedOut = store.destroy(session); // … and then the sign-out's DEL
    redis.resume();
    assert.equal((await inFlight)?.sid, session.sid, 'the request already under way saw the session');
    await signedOut;
    assert.equal(
      await store.load(handle),
      undefined,
      'the next request on this replica sees it gone, at once',
    );
  } finally {
    redis.resume();
    await store.close();
  }
});

test('in the store: an idle-deadline write computed before a refresh cannot undo it', async () => {
  const { store, session, t, handle } = await storeWithSession('undo');
  try {
    await store.singleFlight(session, () => Promise.resolve({ ...session, rt: 'rt-2', gen: 1 }));
    assert.deepEqual(await store.update({ ...session, seen: t + 60 }, 0), { refused: 'superseded' });
    clock.advance(PAST_CACHE_MS);
    assert.equal((await store.load(handle))?.rt, 'rt-2', 'the rotated refresh token is kept');
  } finally {
    await store.close();
  }
});

test('Redis stalled (SIGSTOP): requests answer 503 instead of hanging — a page for browsers, a Status for API clients — and work again after SIGCONT', async () => {
  const browser = await signedIn();
  clock.advance(PAST_CACHE_MS);
  redis.pause();
  try {
    const res = await whoami(browser);
    assert.equal(res.status, 503);
    assert.match(await message(res), /session store \(Redis\) is not answering; try again/);
    const page = await browser.request(`${a.url}${ECHO_PATH}`);
    assert.equal(page.status, 503);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /session store \(Redis\) is not answering/);
    assert.ok(browser.cookies().has('kube_bastion'), 'the browser keeps its cookie (no sign-out)');
  } finally {
    redis.resume();
  }
  await eventually(async () => assert.equal((await whoami(browser)).status, 200), 5000);
});

test('sign-out while Redis is unreachable fails visibly; the stolen handle works until a sign-out succeeds', async () => {
  const browser = await signedIn();
  const copy = browser.cookies().get('kube_bastion')!;
  clock.advance(PAST_CACHE_MS);
  redis.pause();
  let failed: Response;
  try {
    failed = await signOut(browser);
  } finally {
    redis.resume();
  }
  assert.equal(failed.status, 503);
  const page = await failed.text();
  assert.match(page, /You are not signed out yet/);
  assert.match(page, /try again/i);
  assert.match(page, /<form method="post" action="\/auth\/logout"/, 'with the button to try again');
  assert.ok(browser.cookies().has('kube_bastion'), 'the cookie is kept, so the sign-out can be retried');
  await eventually(async () => assert.equal((await whoami(thief(copy), b)).status, 200), 5000);

  assert.equal((await signOut(browser)).status, 303, 'once Redis answers, signing out works');
  assert.equal((await whoami(thief(copy))).status, 401, 'and only now is the stolen handle dead');
  clock.advance(PAST_CACHE_MS); // other replicas: once their one-second read cache has passed
  assert.equal((await whoami(thief(copy), b)).status, 401);
});

test('Redis gone: 503 with a clear message within the command timeout, and the browser keeps its cookie', async () => {
  const browser = await signedIn();
  clock.advance(PAST_CACHE_MS);
  await redis.stop();
  try {
    const res = await whoami(browser);
    assert.equal(res.status, 503);
    assert.match(await message(res), /session store/);
    assert.ok(browser.cookies().has('kube_bastion'));
  } finally {
    redis = await startRedis(); // a new, empty redis on another port: sessions are gone, which is expected
  }
});
