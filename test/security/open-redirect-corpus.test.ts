/**
 * oauth2-proxy's open-redirect corpus (see support/open-redirect-corpus.ts)
 * against the places the gateway redirects to without a sign-in in between:
 *
 *   /auth/logout?rd=            the sign-out page's form, and its POST's redirect
 *   /.kube-bastion/signin?rd=   on a routed host: the rd it hands to the gateway's host
 *   /auth/handoff?rd=           the handoff minted with that rd, redeemed on the routed host
 *
 * (/auth/login?rd=, through a whole sign-in, is open-redirect-signin.test.ts.)
 * Wherever the browser ends up must be the gateway's own origin (or, for the
 * host routes, the routed host), with nothing in the Location a browser would
 * read as another host. Each test is one table; a failing row is named by its payload.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { send } from '../support/http.js';
import { assertAftermath } from './support/cases.js';
import {
  CORPUS,
  problemWith,
  RDS,
  startCorpusWorld,
  table,
  type CorpusWorld,
} from './support/open-redirect-corpus.js';
import { sessionChunks, signedIn } from './support/signin-world.js';

let c: CorpusWorld;
let main = '';

before(
  async () => {
    c = await startCorpusWorld();
    main = sessionChunks(await signedIn(c.w.base, 'dora'))
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
  },
  { timeout: 60_000 },
);
after(() => c?.close());

const WORKERS = [1, 2, 3, 4];
const own = (origin: string) => origin === c.w.base;
const onRoutedHost = (origin: string) => origin === `http://${c.routed}`;

/** The sign-out form's action, as the browser reads it. */
function formAction(html: string): string {
  const raw = /<form method="post" action="([^"]*)"/.exec(html)?.[1] ?? '';
  return raw.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

describe(`the corpus: ${CORPUS.length} payloads, ${RDS.length} rd values`, () => {
  test('/auth/logout: the form posts to our own path, and the POST redirects there', async () => {
    const { w } = c;
    const mark = w.log.mark();
    const failures = await table(WORKERS, async (rd) => {
      const url = `${w.base}/auth/logout?rd=${rd}`;
      const page = await fetch(url, { headers: { accept: 'text/html' }, redirect: 'manual' });
      if (page.status !== 200) return `page ${page.status}`;
      const action = new URL(formAction(await page.text()), url);
      if (action.origin !== w.base || action.pathname !== '/auth/logout')
        return `form posts to ${action.href}`;
      const formRd = action.searchParams.get('rd');
      const inForm = formRd === null ? undefined : problemWith(formRd, url, own);
      if (inForm) return `form rd: ${inForm}`;
      const res = await fetch(url, { method: 'POST', headers: { origin: w.base }, redirect: 'manual' });
      await res.arrayBuffer();
      if (res.status !== 303) return `POST ${res.status}`;
      return problemWith(res.headers.get('location'), url, own);
    });
    assert.deepEqual(failures, []);
    await assertAftermath(w, { status: 200, headers: {}, body: '' }, mark);
  });

  test('/.kube-bastion/signin and /auth/handoff: the routed host gets back only its own paths', async () => {
    const { w } = c;
    const failures = await table(WORKERS, async (rd) => {
      // 1. The routed host binds the sign-in to this browser and hands its rd to the gateway's host.
      const start = await send(w.h.url, 'GET', `/.kube-bastion/signin?rd=${rd}`, {
        host: c.routed,
        accept: 'text/html',
      });
      if (start.status !== 302) return `signin ${start.status}`;
      const handoffURL = new URL(String(start.headers.location));
      const passed = handoffURL.searchParams.get('rd') ?? '';
      const fromSignin = problemWith(passed, `http://${c.routed}/`, onRoutedHost);
      if (fromSignin) return `signin passed rd ${fromSignin}`;
      const nonce = [start.headers['set-cookie'] ?? []]
        .flat()
        .map((line) => line.split(';')[0])
        .join('; ');
      // 2. The gateway's host, asked directly with the hostile rd (not the one signin cleaned).
      handoffURL.search = handoffURL.search.replace(/([?&])rd=[^&]*/, `$1rd=${rd}`);
      const minted = await send(w.h.url, 'GET', handoffURL.pathname + handoffURL.search, {
        host: new URL(w.base).host,
        cookie: main,
        accept: 'text/html',
      });
      const callback = String(minted.headers.location ?? '');
      if (minted.status !== 302 || !callback.startsWith(`http://${c.routed}/.kube-bastion/callback?`))
        return `handoff ${minted.status} ${callback}`;
      // 3. Redeemed on the routed host: the last redirect.
      const u = new URL(callback);
      const redeemed = await send(w.h.url, 'GET', u.pathname + u.search, { host: c.routed, cookie: nonce });
      if (redeemed.status !== 302) return `callback ${redeemed.status}`;
      return problemWith(String(redeemed.headers.location ?? ''), callback, onRoutedHost);
    });
    assert.deepEqual(failures, []);
  });
});
