/**
 * Browser sign-in taken apart, so a test can stop before any hop and tamper
 * with it: start at the gateway's /auth/login (the browser gets the sign-in
 * cookie and is sent to the IdP), go through the IdP's pages (signing in
 * there when asked), and stop at the URL the IdP sends the browser back to.
 */
import type { FetchBrowser } from '../../support/fetch-browser.js';

/** `/auth/login?rd=…` on the gateway: the IdP's authorization URL it redirects to. */
export async function startSignIn(browser: FetchBrowser, base: string, rd = '/'): Promise<URL> {
  const res = await browser.request(`${base}/auth/login?rd=${encodeURIComponent(rd)}`);
  await res.arrayBuffer();
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`/auth/login answered ${res.status}`);
  return new URL(location);
}

/**
 * Follows the IdP from `authorization` (signing in as `user` when its form shows) and returns the
 * callback URL on `base` it sends the browser to, without opening it.
 */
export async function callbackFromIdP(
  browser: FetchBrowser,
  authorization: URL,
  base: string,
  user: string,
): Promise<URL> {
  let url = authorization.href;
  for (let hop = 0; hop < 10; hop++) {
    const res = await browser.request(url);
    const location = res.headers.get('location');
    if (res.status === 200 && new URL(url).pathname.startsWith('/interaction/')) {
      const action = /action="([^"]+)"/.exec(await res.text())?.[1];
      if (!action) throw new Error(`no login form at ${url}`);
      const post = await browser.request(new URL(action, url).href, {
        method: 'POST',
        body: new URLSearchParams({ login: user, password: user }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      await post.arrayBuffer();
      url = new URL(post.headers.get('location')!, url).href;
      continue;
    }
    await res.arrayBuffer();
    if (!location) throw new Error(`${url} answered ${res.status} without a Location`);
    const next = new URL(location, url);
    if (next.origin === new URL(base).origin) return next;
    url = next.href;
  }
  throw new Error('the IdP never sent the browser back');
}
