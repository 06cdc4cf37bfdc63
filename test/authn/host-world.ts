/**
 * Host routing with browser sign-in, in front of real parts: the test IdP
 * (oidc-provider), echo upstreams and one or two gateway replicas whose
 * publicURL is `http://bastion.apps.test:<port>`. Chromium maps every
 * `*.apps.test` name to 127.0.0.1, so each routed host is its own site.
 *
 *   team-a/web     ports `metrics` (9100 → echo "web-metrics") and `http` (80 → echo "web-http")
 *   team-a/other   one unnamed port (80 → echo "other")
 *   team-b/secret  one port `http` (→ echo "secret")   ← alice may not reach it
 *
 * Alice (group team-a) may reach team-a; the clock of every replica can be
 * moved forward to expire what the gateway minted.
 */
import http from 'node:http';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { systemClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import { launchChromium } from '../support/chromium.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { freePort } from '../support/free-port.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { signInConfig, testLogger } from './gateway-fixture.js';

export const SUFFIX = 'apps.test';

type Session = NonNullable<NonNullable<ConfigInput['authentication']>['session']>;

export interface HostWorldOptions {
  session?: Partial<Session>;
  routing?: Partial<NonNullable<ConfigInput['routing']>>;
  /** A second replica (same publicURL, secret and store) on another port. */
  replicas?: 1 | 2;
  /** Share a browser between worlds (the world then leaves it open). */
  browser?: Browser;
}

export interface HostWorld {
  idp: TestIdP;
  echo: Record<'metrics' | 'http' | 'other' | 'secret', EchoServer>;
  gateways: Gateway[];
  /** Port of replica 0, the one the browser uses. */
  port: number;
  ports: number[];
  publicURL: string;
  browser: Browser;
  /** `http://<label>.apps.test:<port>` on replica 0. */
  app(label: string): string;
  /** Moves every replica's clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

function config(o: HostWorldOptions, port: number, publicURL: string, idp: TestIdP, e: HostWorld['echo']) {
  return parseConfig(
    {
      listen: { address: '127.0.0.1', port },
      admin: { address: '127.0.0.1', port: 0 },
      publicURL,
      kubernetes: 'none',
      static: {
        services: [
          {
            namespace: 'team-a',
            name: 'web',
            ports: [
              { name: 'metrics', port: 9100, targetPort: e.metrics.port },
              { name: 'http', port: 80, targetPort: e.http.port },
            ],
            endpoints: ['127.0.0.1'],
          },
          {
            namespace: 'team-a',
            name: 'other',
            ports: [{ port: 80, targetPort: e.other.port }],
            endpoints: ['127.0.0.1'],
          },
          {
            namespace: 'team-b',
            name: 'secret',
            ports: [{ name: 'http', port: 80, targetPort: e.secret.port }],
            endpoints: ['127.0.0.1'],
          },
        ],
      },
      upstream: { allowedAddresses: ['127.0.0.0/8'] },
      authorization: {
        rules: [{ groups: ['team-a'], namespaces: ['team-a'], resources: ['services'], verbs: ['*'] }],
      },
      authentication: signInConfig({ idp, session: o.session }),
      routing: { hostSuffix: SUFFIX, ...o.routing },
      logging: { level: 'silent', audit: { enabled: false } },
    },
    { env: {} },
  );
}

export async function startHostWorld(o: HostWorldOptions = {}): Promise<HostWorld> {
  const [idp, metrics, http, other, secret, browser] = await Promise.all([
    startTestIdP(),
    startEchoServer({ name: 'web-metrics' }),
    startEchoServer({ name: 'web-http' }),
    startEchoServer({ name: 'other' }),
    startEchoServer({ name: 'secret' }),
    o.browser ?? launchHostBrowser(),
  ]);
  const echo = { metrics, http, other, secret };
  const ports = await Promise.all(Array.from({ length: o.replicas ?? 1 }, () => freePort()));
  const publicURL = `http://bastion.${SUFFIX}:${ports[0]}`;
  idp.setClients([gatewayClient(publicURL)]);
  let skew = 0;
  const logger = testLogger();
  const gateways: Gateway[] = [];
  const close = async () => {
    if (!o.browser) await browser.close();
    await Promise.allSettled(gateways.map((g) => g.close()));
    await Promise.allSettled([idp.close(), ...Object.values(echo).map((e) => e.close())]);
  };
  try {
    for (const port of ports) {
      const gateway = await createGateway({
        config: config(o, port, publicURL, idp, echo),
        logger,
        // Real time plus what the test moved it by: the real IdP and Redis keep working.
        clock: { now: () => Date.now() + skew, after: (ms, fn) => systemClock.after(ms, fn) },
      });
      gateways.push(gateway);
      await gateway.listen();
    }
  } catch (err) {
    await close();
    throw err;
  }
  return {
    idp,
    echo,
    gateways,
    port: ports[0],
    ports,
    publicURL,
    browser,
    app: (label) => `http://${label}.${SUFFIX}:${ports[0]}`,
    advance: (ms) => void (skew += ms),
    close,
  };
}

/** Chromium that resolves every `*.apps.test` name to 127.0.0.1. */
export const launchHostBrowser = (): Promise<Browser> =>
  launchChromium([`--host-resolver-rules=MAP *.${SUFFIX} 127.0.0.1`]);

/** Fills the test IdP's login form and waits until the browser has left it. */
export async function fillLogin(page: Page, user: string): Promise<void> {
  await page.waitForSelector('#login');
  await page.fill('#login', user);
  await page.fill('#password', user);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/interaction/')), page.click('#submit')]);
}

/** A fresh browser profile, signed in as `user` on the gateway's own origin. */
export async function signedInContext(w: HostWorld, user = 'alice'): Promise<BrowserContext> {
  const ctx = await w.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${w.publicURL}/auth/login?rd=%2Fauth%2Fwhoami`);
  await fillLogin(page, user);
  await page.waitForURL(`${w.publicURL}/auth/whoami`);
  await page.close();
  return ctx;
}

/** The JSON an echo upstream answered with, as the page shows it. */
export async function echoed(
  page: Page,
): Promise<{ server: string; url: string; headers: Record<string, string> }> {
  return JSON.parse((await page.textContent('body')) ?? '{}') as {
    server: string;
    url: string;
    headers: Record<string, string>;
  };
}

/** The cookies a browser profile would send to `url`, as one Cookie header. */
export async function cookieHeader(ctx: BrowserContext, url: string): Promise<string> {
  return (await ctx.cookies(url)).map((c) => `${c.name}=${c.value}`).join('; ');
}

/**
 * One GET to a replica's port as a browser on `origin` would send it (its Host
 * and a copy of its cookies): how a second replica sees the same browser.
 */
export function rawGet(
  port: number,
  origin: string,
  path: string,
  cookie: string,
  accept = 'application/json',
): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, headers: { host: new URL(origin).host, cookie, accept } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            location: res.headers.location,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Signs out on the gateway's own origin, through its sign-out page when it shows one. */
export async function signOut(page: Page, w: HostWorld): Promise<void> {
  await page.goto(`${w.publicURL}/auth/logout`);
  const button = page.getByRole('button', { name: /sign out/i });
  if (new URL(page.url()).pathname === '/auth/logout' && (await button.count()) > 0) {
    await Promise.all([page.waitForURL((u) => u.pathname !== '/auth/logout'), button.first().click()]);
  }
}

/** What a script on the page's own origin gets for `path` (no redirects followed, so no sign-in). */
export function fetchStatus(page: Page, path: string): Promise<number> {
  return page.evaluate(
    (p) => fetch(p, { headers: { accept: 'application/json' }, redirect: 'manual' }).then((r) => r.status),
    path,
  );
}

/** The handoff URLs the browser was sent to on its way (the test reads them as a thief would). */
export function recordHandoffs(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (r: Request) => {
    if (r.url().includes('/.kube-bastion/callback')) seen.push(r.url());
  });
  return seen;
}

/**
 * Stops the browser at the handoff, as if it had been copied before it was used.
 * (Chromium's own request interception: it sees requests reached by redirect, Playwright's route() does not.)
 */
export async function stopAtHandoff(
  w: HostWorld,
  ctx: BrowserContext,
  page: Page,
  label = 'web--team-a',
): Promise<string> {
  const cdp = await ctx.newCDPSession(page);
  let handoff = '';
  cdp.on('Fetch.requestPaused', (e: { requestId: string; request: { url: string } }) => {
    handoff = e.request.url;
    void cdp.send('Fetch.failRequest', { requestId: e.requestId, errorReason: 'Aborted' });
  });
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*/.kube-bastion/callback*' }] });
  await page.goto(w.app(label) + '/stopped').catch(() => undefined);
  await cdp.send('Fetch.disable');
  await cdp.detach();
  if (!handoff) throw new Error('the browser was never sent to a handoff');
  return handoff;
}

/**
 * Opens a WebSocket from the page to its own host's `/ws` (the echo backend
 * greets), and returns how it ends: the close code and reason.
 */
export async function pageWebSocket(
  page: Page,
): Promise<(withinMs?: number) => Promise<{ code: number; reason: string }>> {
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const g = globalThis as unknown as {
          WebSocket: new (url: string) => {
            onmessage: () => void;
            onerror: () => void;
            onclose: (e: { code: number; reason: string }) => void;
          };
          location: { host: string };
          __wsEnd: Promise<{ code: number; reason: string }>;
        };
        const ws = new g.WebSocket(`ws://${g.location.host}/ws`);
        g.__wsEnd = new Promise((done) => (ws.onclose = (e) => done({ code: e.code, reason: e.reason })));
        ws.onmessage = () => resolve();
        ws.onerror = () => reject(new Error('the WebSocket did not open'));
      }),
  );
  return async (withinMs = 10_000) => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the WebSocket was still open after ${withinMs} ms`)),
        withinMs,
      );
    });
    const end = page.evaluate(
      () => (globalThis as unknown as { __wsEnd: Promise<{ code: number; reason: string }> }).__wsEnd,
    );
    try {
      return await Promise.race([end, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

/** Runs `body` in a fresh profile signed in as `user` (one page open), and closes the profile after. */
export async function asSignedIn(
  w: HostWorld,
  body: (ctx: BrowserContext, page: Page) => Promise<void>,
  user = 'alice',
): Promise<void> {
  const ctx = await signedInContext(w, user);
  try {
    await body(ctx, await ctx.newPage());
  } finally {
    await ctx.close();
  }
}
