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
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createLogger, silentLogger } from '../../src/observability/logger.js';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import { launchChromium } from '../support/chromium.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { freePort } from '../support/free-port.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';

export const SUFFIX = 'apps.test';
export const SECRET = 'a-host-routing-session-secret-long-enough';

type Session = NonNullable<NonNullable<ConfigInput['authentication']>['session']>;

export interface HostWorldOptions {
  session?: Partial<Session>;
  routing?: Partial<NonNullable<ConfigInput['routing']>>;
  /** A second replica (same publicURL, secret and store) on another port. */
  replicas?: 1 | 2;
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
      authentication: {
        oidc: {
          issuer: idp.issuer,
          clientID: 'kube-bastion',
          clientSecret: 'kube-bastion-secret',
          scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
        },
        session: { secret: SECRET, ...o.session },
      },
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
    launchChromium([`--host-resolver-rules=MAP *.${SUFFIX} 127.0.0.1`]),
  ]);
  const echo = { metrics, http, other, secret };
  const ports = await Promise.all(Array.from({ length: o.replicas ?? 1 }, () => freePort()));
  const publicURL = `http://bastion.${SUFFIX}:${ports[0]}`;
  idp.setClients([gatewayClient(publicURL)]);
  let skew = 0;
  const logger = process.env.AUTHN_TEST_LOG
    ? createLogger({ level: 'debug', format: 'json' })
    : silentLogger();
  const gateways: Gateway[] = [];
  const close = async () => {
    await browser.close();
    await Promise.allSettled(gateways.map((g) => g.close()));
    await Promise.allSettled([idp.close(), ...Object.values(echo).map((e) => e.close())]);
  };
  try {
    for (const port of ports) {
      const gateway = await createGateway({
        config: config(o, port, publicURL, idp, echo),
        logger,
        clock: () => Date.now() + skew,
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
export async function echoed(page: Page): Promise<{ server: string; url: string; headers: Record<string, string> }> {
  return JSON.parse((await page.textContent('body')) ?? '{}') as {
    server: string;
    url: string;
    headers: Record<string, string>;
  };
}
