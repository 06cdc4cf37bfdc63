/**
 * Mallory's app on the gateway's own origin: a real https gateway (path
 * routing), the real IdP with Alice and Mallory, an app `team-a/evil` whose
 * pages a test sets, and real Chromium. What Mallory's terminal sends is
 * `terminalPost` (trusting the test CA), as `kube-bastion login --device` would.
 *
 * Tests here must not call page.evaluate (or anything built on it, like
 * waitForFunction or textContent) on a page before that page's script has
 * done what it is tested for: Playwright runs evaluations with a user gesture,
 * which would hand the page's script the click it must not have.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { silentLogger } from '../../../src/observability/logger.js';
import { createGateway, type Gateway } from '../../../src/server/gateway.js';
import { launchChromium } from '../../support/chromium.js';
import { freePort } from '../../support/free-port.js';
import { gatewayClient, startTestIdP } from '../../support/oidc-provider.js';
import { createTestCA } from '../../support/tls.js';
import { teamAPerson, teamAService, tlsGatewayConfig } from './tls-gateway.js';

/** The app's prefix in the path form: its pages are on the gateway's origin. */
export const APP = '/api/v1/namespaces/team-a/services/evil:http/proxy';
export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export interface AppPage {
  html: string;
  headers?: Record<string, string>;
}

export interface AppOnGateway {
  /** The gateway's https origin. */
  base: string;
  browser: Browser;
  /** The app's pages by path (`/`, `/forge`, …): a test sets what Mallory's app serves. */
  pages: Map<string, AppPage>;
  terminalPost(path: string, fields: Record<string, string>): Promise<TerminalAnswer>;
  /** A fresh browser in which `user` is signed in, on a page of the app without script. */
  signedIn(user: string): Promise<{ ctx: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export interface TerminalAnswer {
  status: number;
  body: Record<string, unknown>;
}

function startApp(pages: Map<string, AppPage>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const page = pages.get(new URL(req.url ?? '/', 'http://app').pathname);
    if (!page) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html', ...page.headers });
    res.end(page.html);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A POST as a terminal sends it, trusting `caPem`; the JSON answer. */
function postAsTerminal(url: string, caPem: string, fields: Record<string, string>) {
  return new Promise<TerminalAnswer>((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: 'POST',
        ca: caPem,
        agent: false,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(new URLSearchParams(fields).toString());
  });
}

export async function startAppOnGateway(): Promise<AppOnGateway> {
  const port = await freePort();
  const base = `https://127.0.0.1:${port}`;
  const pages = new Map<string, AppPage>([['/blank', { html: '<p>Team dashboard</p>' }]]);
  const [idp, app] = await Promise.all([
    startTestIdP({
      users: { alice: teamAPerson('alice'), mallory: teamAPerson('mallory') },
      clients: [gatewayClient(base)],
    }),
    startApp(pages),
  ]);
  let gateway: Gateway | undefined;
  let browser: Browser | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'bastion-app-on-gateway-'));
  const close = async () => {
    await browser?.close();
    await gateway?.close();
    await Promise.allSettled([idp.close(), new Promise((r) => app.close(r))]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ca = await createTestCA();
    const cert = await ca.issue(['127.0.0.1']);
    writeFileSync(join(dir, 'tls.crt'), cert.cert);
    writeFileSync(join(dir, 'tls.key'), cert.key);
    const appPort = (app.address() as AddressInfo).port;
    gateway = await createGateway({
      config: tlsGatewayConfig({
        port,
        base,
        dir,
        issuer: idp.issuer,
        services: [teamAService('evil', appPort)],
        scopes: ['offline_access'],
        extra: { authentication: { cli: { devicePollInterval: '1s' } } },
      }),
      logger: silentLogger(),
    });
    await gateway.listen();
    browser = await launchChromium(['--ignore-certificate-errors']);
    const b = browser;
    return {
      base,
      browser: b,
      pages,
      terminalPost: (path, fields) => postAsTerminal(`${base}${path}`, ca.caPem, fields),
      signedIn: (user) => signInOnApp(b, base, user),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function signInOnApp(browser: Browser, base: string, user: string) {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(`${base}${APP}/blank`);
  await page.waitForSelector('#login');
  await page.fill('#login', user);
  await page.fill('#password', user);
  await Promise.all([page.waitForURL(`${base}${APP}/blank`), page.click('#submit')]);
  return { ctx, page };
}
