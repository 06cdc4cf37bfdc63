/**
 * Every answer of `/auth/handoff` that would stay on the gateway's origin with
 * the handoff's state in its URL is the hole of
 * handoff-state-from-app-browser.test.ts: a path-form app's script reads the
 * URL of the window it opened, and Mallory mints a handoff for that state. So
 * a handoff that fails once its URL is good, and a sign-in started for one
 * that fails before the IdP, send the browser on to a clean URL
 * (`/auth/handoff?failed=<reason>`) that shows a fixed message. The answers
 * that stay are the ones whose state nobody can use (a host not routed, a
 * malformed state: test/security/handoff.test.ts).
 *
 * Real parts: the test IdP, a real redis-server (stopped: the session store
 * does not answer) and a second gateway that starts while the IdP is down.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { LOCAL_CACHE_MS } from '../../src/authn/session/redis-store.js';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { signInConfig } from '../authn/gateway-fixture.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import { onFreePort } from '../support/free-port.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { startRedis, type RedisServer } from '../support/redis.js';

type SessionConfig = NonNullable<NonNullable<ConfigInput['authentication']>['session']>;

const SUFFIX = 'apps.test';
const STATE = 'S'.repeat(43);

let idp: TestIdP;
let redis: RedisServer;
const gateways: Gateway[] = [];
/** Real time plus what a test moved it by: the IdP and Redis keep real time. */
let skew = 0;
const clock = {
  now: () => Date.now() + skew,
  after: (ms: number, fn: () => void) => systemClock.after(ms, fn),
};

/** A gateway with host routing and browser sign-in, on a port its publicURL names. */
function startGateway(session: SessionConfig = {}): Promise<string> {
  return onFreePort(async (port) => {
    const base = `http://127.0.0.1:${port}`;
    const config = parseConfig(
      {
        listen: { address: '127.0.0.1', port },
        admin: { address: '127.0.0.1', port: 0 },
        publicURL: base,
        kubernetes: 'none',
        authentication: signInConfig({ idp, session }),
        routing: { hostSuffix: SUFFIX },
        logging: { level: 'silent', audit: { enabled: false } },
      },
      { env: {} },
    );
    const gateway = await createGateway({ config, logger: silentLogger(), clock });
    await gateway.listen().catch(async (err: unknown) => {
      await gateway.close();
      throw err;
    });
    gateways.push(gateway);
    return base;
  });
}

/** The handoff's URL as a routed host's sign-in sends the browser there (the routed host is on the same port). */
const handoffURL = (base: string) =>
  `${base}/auth/handoff?${new URLSearchParams({ host: `web--team-a.${SUFFIX}:${new URL(base).port}`, rd: '/', state: STATE }).toString()}`;

/** Where the browser was sent, that no state went along, and the page it finds there. */
async function leftFor(browser: FetchBrowser, res: Response, base: string): Promise<Response> {
  assert.equal(res.status, 303, await res.text());
  const location = res.headers.get('location')!;
  assert.equal(location, '/auth/handoff?failed=unavailable');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  const page = await browser.request(new URL(location, base).href);
  return page;
}

before(
  async () => {
    [idp, redis] = await Promise.all([startTestIdP(), startRedis()]);
  },
  { timeout: 60_000 },
);

after(async () => {
  await Promise.allSettled(gateways.map((g) => g.close()));
  await Promise.allSettled([idp?.close(), redis?.stop()]);
});

test('a handoff that cannot be minted (the session store does not answer) leaves its URL for a clean one', async () => {
  const base = await startGateway({ store: 'redis', redis: { url: redis.url, commandTimeout: '1s' } });
  idp.setClients([gatewayClient(base)]);
  const browser = new FetchBrowser();
  assert.equal((await browser.signIn(`${base}/auth/whoami`, 'alice')).status, 200);
  const minted = await browser.request(handoffURL(base));
  assert.equal(minted.status, 302, 'with the store up, a handoff is minted');
  assert.match(minted.headers.get('location')!, /\/\.kube-bastion\/callback\?handoff=/);

  await redis.stop();
  skew += LOCAL_CACHE_MS; // past what the replica remembers of the session it just read
  const page = await leftFor(browser, await browser.request(handoffURL(base)), base);
  assert.equal(page.status, 503);
  const html = await page.text();
  assert.match(html, /cannot be completed right now/);
  assert.doesNotMatch(html, new RegExp(STATE));
});

test('a sign-in started for a handoff that fails before the IdP (the IdP is down) leaves its URL too; others keep their page', async () => {
  await idp.stop();
  const base = await startGateway();
  const browser = new FetchBrowser();
  const toLogin = await browser.request(handoffURL(base));
  assert.equal(toLogin.status, 302, 'not signed in: on to sign in first');
  const login = new URL(toLogin.headers.get('location')!, base).href;
  assert.match(decodeURIComponent(login), new RegExp(`state=${STATE}`), 'the sign-in URL carries the state');

  const page = await leftFor(browser, await browser.request(login), base);
  assert.equal(page.status, 503);
  assert.doesNotMatch(await page.text(), new RegExp(STATE));

  const plain = await browser.request(`${base}/auth/login?rd=%2F`);
  assert.ok([502, 503].includes(plain.status), `a sign-in for the portal shows its page: ${plain.status}`);
  assert.match(await plain.text(), /provider cannot be reached/);
});

test('the clean URL shows fixed messages only: nothing of the request is reflected', async () => {
  const base = await startGateway();
  const browser = new FetchBrowser();
  for (const failed of ['too-large', 'failed']) {
    const res = await browser.request(`${base}/auth/handoff?failed=${failed}&note=%3Cb%3Ehello`);
    assert.equal(res.status, 400);
    assert.doesNotMatch(await res.text(), /hello/);
  }
  const unknown = await browser.request(`${base}/auth/handoff?failed=%3Cb%3Ecall-us`);
  assert.equal(unknown.status, 400);
  assert.doesNotMatch(await unknown.text(), /call-us/);
});
