/**
 * The identity provider and the bearer-token issuer go down. Existing browser
 * sessions keep working, bearer tokens verify with the cached keys, and a new
 * sign-in fails with a page that says what happened — never a stack trace or
 * a hang.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FetchBrowser } from '../support/fetch-browser.js';
import { send } from '../support/http.js';
import type { TestIdP } from '../support/oidc-provider.js';
import {
  sessionChunks,
  signedIn,
  startIdP,
  startSignInWorld,
  type SignInWorld,
} from '../security/support/signin-world.js';
import { STACK } from '../security/support/cases.js';
import { WEB } from '../security/support/world.js';

let idp: TestIdP;
let w: SignInWorld;
let cookie = '';
let loginBrowser: FetchBrowser;
let callbackURL = '';

before(
  async () => {
    idp = await startIdP();
    w = await startSignInWorld(idp, undefined);
    cookie = sessionChunks(await signedIn(w.base, 'alice'))
      .map(([k, v]) => `${k}=${v}`)
      .join('; ');
    // A second person is half-way through signing in when the IdP goes down: at the IdP, about to come back.
    loginBrowser = new FetchBrowser();
    const form = await loginBrowser.get(`${w.base}/auth/login?rd=/`);
    const action = /action="([^"]+)"/.exec(await form.text())![1];
    let res = await loginBrowser.request(new URL(action, idp.issuer).href, {
      method: 'POST',
      body: new URLSearchParams({ login: 'carol', password: 'carol' }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    let url = new URL(action, idp.issuer).href;
    for (let i = 0; i < 10 && !callbackURL; i++) {
      const next = new URL(res.headers.get('location')!, url).href;
      if (next.startsWith(`${w.base}/auth/callback`)) callbackURL = next;
      else res = await loginBrowser.request((url = next));
    }
    assert.ok(callbackURL, 'reached the callback');
    await idp.stop();
  },
  { timeout: 60_000 },
);
after(async () => {
  await w?.close();
  await idp?.close();
});

test('an existing browser session keeps working while the IdP is down', async () => {
  for (let i = 0; i < 5; i++) {
    const r = await send(w.base, 'GET', `${WEB}/s${i}`, { cookie, accept: 'application/json' });
    assert.equal(r.status, 200, r.body);
  }
});

test('bearer tokens verify with the cached keys while their issuer is down', async () => {
  await w.issuer.close();
  // Minted now (never seen before, so not in the token cache): only the cached JWKS can verify it.
  const fresh = await w.issuer.mint({ aud: 'kube-bastion', sub: 'alice', groups: ['devs'] });
  const r = await send(w.base, 'GET', `${WEB}/b`, {
    authorization: `Bearer ${fresh}`,
    accept: 'application/json',
  });
  assert.equal(r.status, 200, r.body);
});

test('a sign-in finishing while the IdP is down gets a clear page, not a stack trace', async () => {
  const res = await loginBrowser.request(callbackURL);
  const html = await res.text();
  assert.equal(res.status, 503, 'an unreachable IdP is a 503, not the user’s fault');
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.match(html, /sign-in failed|identity provider|try again/i);
  assert.match(html, /Sign in again/);
  assert.doesNotMatch(html, STACK);
});

test('a gateway that starts while the IdP is down: unready, and sign-in says why', async () => {
  const cold = await startSignInWorld(idp, undefined);
  try {
    assert.equal((await fetch(`${cold.h.adminURL}/readyz`)).status, 503);
    const res = await fetch(`${cold.base}/auth/login?rd=/`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    const html = await res.text();
    assert.ok([502, 503].includes(res.status), `status ${res.status}`);
    assert.match(html, /(sign-in|identity) provider cannot be reached/i);
    assert.doesNotMatch(html, STACK);
  } finally {
    await cold.close();
  }
});
