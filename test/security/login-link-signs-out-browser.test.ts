/**
 * Logout CSRF through the sign-in link, in real Chromium: docs/security.md
 * promises that "a link, an <img>, a prefetch, another site's form, a sibling
 * subdomain … cannot sign anybody out". `/auth/login` is a GET that expires
 * the session cookies the browser sent before it starts a sign-in; a sibling
 * host is same-site, so `SameSite=Lax` sends the session with its `<img>`.
 *
 * Alice is signed in at `bastion.apps.test`; she reads a page on the sibling
 * host `blog.apps.test` (any routed app, or anything else under the parent
 * domain) that embeds `<img src="https://bastion…/auth/login">`. The image
 * never completes a sign-in (it stops at the IdP's form), but the gateway has
 * already expired her session.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { SUFFIX, signedInContext, startHostWorld, type HostWorld } from '../authn/host-world.js';

let w: HostWorld;
let sibling: http.Server;
let siblingURL = '';

before(
  async () => {
    w = await startHostWorld();
    sibling = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(
        `<p>a blog post</p><img src="${w.publicURL}/auth/login" onload="document.title='img done'" onerror="document.title='img done'">`,
      );
    });
    await new Promise<void>((resolve) => sibling.listen(0, '127.0.0.1', resolve));
    siblingURL = `http://blog.${SUFFIX}:${(sibling.address() as AddressInfo).port}/`;
  },
  { timeout: 60_000 },
);

after(async () => {
  await new Promise((r) => sibling?.close(r));
  await w?.close();
});

/** What a script's `fetch` on the gateway's origin gets (no navigation, so no silent trip through the IdP). */
async function apiCall(ctx: BrowserContext): Promise<number> {
  const page = await ctx.newPage();
  await page.goto(`${w.publicURL}/_bastion/style.css`);
  const status = await page.evaluate(async () => {
    const r = await fetch('/auth/whoami', { headers: { accept: 'application/json' }, redirect: 'manual' });
    return r.status;
  });
  await page.close();
  return status;
}

test('an <img> of /auth/login on a sibling host does not sign the visitor out', async () => {
  const ctx = await signedInContext(w, 'alice');
  assert.equal(await apiCall(ctx), 200, 'Alice is signed in');

  const page = await ctx.newPage();
  await page.goto(siblingURL);
  await page.waitForFunction("document.title === 'img done'");

  const status = await apiCall(ctx);
  const left = (await ctx.cookies(w.publicURL)).filter((c) => /^kube_bastion(_\d)?$/.test(c.name)).length;
  await ctx.close();
  assert.equal(
    status,
    200,
    `an image on a sibling site signed Alice out: her next request got ${status}, ${left} session cookies left`,
  );
});
