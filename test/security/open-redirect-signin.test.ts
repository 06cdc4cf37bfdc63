/**
 * oauth2-proxy's open-redirect corpus (see support/open-redirect-corpus.ts)
 * as `rd` on /auth/login, through a whole sign-in at the real IdP: wherever
 * the callback finally sends the browser must be the gateway's own origin (or
 * a routed app's host), with nothing in the Location a browser would read as
 * another host. A failing row is named by its payload.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FetchBrowser } from '../support/fetch-browser.js';
import {
  problemWith,
  RDS,
  ROUTING_SUFFIX,
  startCorpusWorld,
  table,
  type CorpusWorld,
} from './support/open-redirect-corpus.js';
import { signedIn } from './support/signin-world.js';

let c: CorpusWorld;
let browsers: FetchBrowser[];

before(
  async () => {
    c = await startCorpusWorld();
    browsers = await Promise.all([1, 2, 3, 4].map(() => signedIn(c.w.base, 'dora')));
  },
  { timeout: 60_000 },
);
after(() => c?.close());

const ownOrRouted = (origin: string) => {
  const u = new URL(origin);
  return origin === c.w.base || (u.hostname.endsWith(`.${ROUTING_SUFFIX}`) && u.port === c.port);
};

test(`/auth/login with ${RDS.length} rd values: after a whole sign-in, the browser lands on our own origin`, async () => {
  const { w, idp } = c;
  const failures = await table(browsers, async (rd, browser) => {
    let url = `${w.base}/auth/login?rd=${rd}`;
    for (let hop = 0; hop < 12; hop++) {
      const res = await browser.request(url);
      await res.arrayBuffer();
      const location = res.headers.get('location');
      if (new URL(url).pathname === '/auth/callback') {
        if (res.status !== 302) return `callback ${res.status}`;
        return problemWith(location, url, ownOrRouted);
      }
      if (!location) return `${url} answered ${res.status}`;
      const next = new URL(location, url);
      if (next.origin !== w.base && next.origin !== idp.issuer) return `sign-in went to ${next.origin}`;
      url = next.href;
    }
    return 'never reached the callback';
  });
  assert.deepEqual(failures, []);
});
