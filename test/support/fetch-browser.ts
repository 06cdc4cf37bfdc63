/**
 * Just enough of a browser for sign-in tests without Chromium: a cookie jar
 * keyed by host name (cookies ignore ports, as in browsers), manual redirects,
 * and the test IdP's login form. Every hop is recorded so tests can assert on it.
 * Each request is a top-level navigation the person caused (a link, the address
 * bar, a button), so it carries the Fetch Metadata a current browser sends for
 * one; `navigation: false` sends a bare request, as curl or an old browser would.
 */
import http from 'node:http';
import https from 'node:https';

export interface Hop {
  url: string;
  status: number;
  location?: string;
  setCookies: string[];
}

/** What a current browser sends with a top-level navigation a person caused (a link, the address bar, a click). */
export const NAVIGATION_HEADERS: Readonly<Record<string, string>> = {
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  'sec-fetch-user': '?1',
};

/** What fetch() would have returned for this answer (statuses without a body get none). */
function asResponse(res: http.IncomingMessage, body: Buffer): Response {
  const headers = new Headers();
  for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
  const status = res.statusCode!;
  const bodyless = [204, 205, 304].includes(status);
  return new Response(bodyless ? null : new Uint8Array(body), {
    status,
    statusText: res.statusMessage,
    headers,
  });
}

export class FetchBrowser {
  readonly jar = new Map<string, Map<string, string>>();
  readonly hops: Hop[] = [];
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });

  cookies(host = '127.0.0.1'): Map<string, string> {
    let c = this.jar.get(host);
    if (!c) this.jar.set(host, (c = new Map()));
    return c;
  }

  private store(url: URL, setCookies: string[]): void {
    const jar = this.cookies(url.hostname);
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a),
      );
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  }

  cookieHeader(url: URL): string {
    return [...this.cookies(url.hostname)].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** One request, no redirect following. */
  async request(
    url: string,
    init: { method?: string; body?: string; headers?: Record<string, string>; navigation?: boolean } = {},
  ): Promise<Response> {
    const u = new URL(url);
    const headers: Record<string, string> = {
      accept: 'text/html',
      ...(init.navigation === false ? {} : NAVIGATION_HEADERS),
      ...init.headers,
    };
    const cookie = this.cookieHeader(u);
    if (cookie) headers.cookie = cookie;
    const res = await this.send(u, init.method ?? 'GET', headers, init.body);
    const setCookies = res.headers.getSetCookie();
    this.store(u, setCookies);
    this.hops.push({
      url,
      status: res.status,
      location: res.headers.get('location') ?? undefined,
      setCookies,
    });
    return res;
  }

  /**
   * One exchange over node's http client, on this browser's own keep-alive
   * connections: fetch() cannot play a browser's navigation, as undici
   * replaces any Sec-Fetch-Mode with `cors`.
   */
  private send(u: URL, method: string, headers: Record<string, string>, body?: string): Promise<Response> {
    const secure = u.protocol === 'https:';
    const sent =
      body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(
        u,
        { method, headers: sent, agent: secure ? this.httpsAgent : this.httpAgent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => resolve(asResponse(res, Buffer.concat(chunks))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Follows redirects (up to 20); returns the final response. */
  async get(url: string, headers?: Record<string, string>): Promise<Response> {
    let current = url;
    for (let i = 0; i < 20; i++) {
      const res = await this.request(current, { headers });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return res;
      await res.arrayBuffer();
      current = new URL(location, current).href;
    }
    throw new Error(`too many redirects from ${url}`);
  }

  /** Goes to `url`; when the test IdP's login form shows up, signs in as `user`. Returns the final response. */
  async signIn(url: string, user: string, password = user): Promise<Response> {
    const res = await this.get(url);
    const finalURL = this.hops.at(-1)!.url;
    if (!finalURL.includes('/interaction/')) return res;
    const html = await res.text();
    const action = /action="([^"]+)"/.exec(html)?.[1];
    if (!action) throw new Error(`no login form at ${finalURL}`);
    const post = await this.request(new URL(action, finalURL).href, {
      method: 'POST',
      body: new URLSearchParams({ login: user, password }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const location = post.headers.get('location');
    if (!location) return post;
    return this.get(new URL(location, finalURL).href);
  }
}
