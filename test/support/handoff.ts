/**
 * A routed host's own session cookie, obtained the way a browser gets one:
 * the three hops of the sign-in handoff (routed host → the gateway's host →
 * routed host), each sent to the gateway with the Host header a browser would
 * use. For tests that talk HTTP rather than drive Chromium.
 */
import http from 'node:http';

interface Reply {
  status: number;
  location: string;
  setCookies: string[];
}

function get(gateway: string, host: string, path: string, cookie: string): Promise<Reply> {
  const { hostname, port } = new URL(gateway);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: hostname, port, path, headers: { host, cookie, accept: 'text/html' } },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            location: res.headers.location ?? '',
            setCookies: res.headers['set-cookie'] ?? [],
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const pairs = (lines: string[]) => lines.map((l) => l.split(';')[0]).filter((p) => !p.endsWith('=')); // expired ones carry no value

function pathOf(location: string): string {
  const u = new URL(location, 'http://x');
  return u.pathname + u.search;
}

export interface MintedHandoff {
  /** Path and query of the callback on the routed host (`/.kube-bastion/callback?handoff=…`). */
  callback: string;
  /** The Cookie header holding the browser-binding nonce the routed host set. */
  nonce: string;
}

/**
 * The first two hops: the routed host binds the sign-in to "this browser",
 * the gateway's host mints the handoff for the session in `mainCookie`.
 * @param gateway where the gateway listens (`http://127.0.0.1:PORT`)
 * @param publicHost the Host of publicURL
 * @param routedHost the routed host (`web--team-a.apps.test:PORT`)
 */
export async function mintHandoff(
  gateway: string,
  publicHost: string,
  routedHost: string,
  mainCookie: string,
  rd = '/',
): Promise<MintedHandoff> {
  const start = await get(gateway, routedHost, `/.kube-bastion/signin?rd=${encodeURIComponent(rd)}`, '');
  const nonce = pairs(start.setCookies).join('; ');
  const minted = await get(gateway, publicHost, pathOf(start.location), mainCookie);
  if (!minted.location.includes('/.kube-bastion/callback'))
    throw new Error(`no handoff minted: ${minted.status} ${minted.location}`);
  return { callback: pathOf(minted.location), nonce };
}

/** All three hops: the Cookie header a browser would then send to the routed host. */
export async function hostSessionCookie(
  gateway: string,
  publicHost: string,
  routedHost: string,
  mainCookie: string,
): Promise<string> {
  const { callback, nonce } = await mintHandoff(gateway, publicHost, routedHost, mainCookie);
  const redeemed = await get(gateway, routedHost, callback, nonce);
  const cookies = pairs(redeemed.setCookies).filter((p) => /_host(_\d+)?=/.test(p));
  if (redeemed.status !== 302 || cookies.length === 0)
    throw new Error(`handoff refused: ${redeemed.status} ${redeemed.setCookies.join(' | ')}`);
  return cookies.join('; ');
}
