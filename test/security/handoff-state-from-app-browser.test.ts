/**
 * Login CSRF on a routed host, from a path-form app, in real Chromium against
 * a real https gateway (host routing and the path form on one gateway) and
 * the real IdP.
 *
 * The handoff is bound to the browser by a nonce cookie that only the routed
 * host can set; the gateway's origin only ever sees its digest, as `state` in
 * `/auth/handoff?…`. Mallory's app (`team-a/evil`, path form) runs on the
 * gateway's origin, so:
 *   1. its script writes a few large cookies of its own scoped to
 *      `Path=/auth/handoff`, so that Alice's next request there is refused
 *      with 431 by the listener — a page committed on the gateway's origin;
 *   2. it opens `/.kube-bastion/signin` of the routed host `web--team-a` in a
 *      window: the host sets a fresh nonce in Alice's browser and sends the
 *      window to `/auth/handoff?…&state=<digest>`, which now stops at the 431;
 *   3. same origin, the script reads the window's URL and the digest in it;
 *   4. Mallory mints a handoff for that digest with her own session and the
 *      script sends the window to the routed host's callback with it: Alice's
 *      browser holds the nonce, so the host takes it.
 * Alice then uses `web--team-a` as Mallory (whatever she types there lands in
 * Mallory's account) — the login CSRF the nonce is there to stop.
 *
 * What holds now: a too-large request for a sign-in route (`/auth/…`) gets no
 * answer at all, so the window ends on the browser's network error page, which
 * belongs to no origin: step 3 finds no state. Both ways the listener sees such
 * a head: whole (padding within what the gateway reads, judged by
 * server/header-limit.ts) and as Node's last chunk only (padding past it, closed
 * by server/client-error.ts without knowing the target).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { silentLogger } from '../../src/observability/logger.js';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import { launchChromium } from '../support/chromium.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { freePort } from '../support/free-port.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { createTestCA } from '../support/tls.js';
import { teamAPerson, teamAService, tlsGatewayConfig } from './support/tls-gateway.js';

const SUFFIX = 'apps.test';
const EVIL = '/api/v1/namespaces/team-a/services/evil:http/proxy';

let idp: TestIdP;
let evil: http.Server;
let web: EchoServer;
let gateway: Gateway;
let browser: Browser;
let port = 0;
let base = '';
let webHost = '';
let dir = '';

/** Mallory's page: steps 1–3 above, with `pads` cookies of 3.9 KB; the digest ends up in the title. */
const STEAL_STATE = (signin: string, pads: number) => `
for (let i = 0; i < ${pads}; i++) document.cookie = 'pad' + i + '=' + 'x'.repeat(3900) + '; Path=/auth/handoff; Secure';
window.w = window.open(${JSON.stringify(signin)});
const timer = setInterval(() => {
  let href = '';
  try { href = window.w.location.href; } catch { return; } // cross-origin for now
  const state = new URL(href).searchParams.get('state');
  if (href.includes('/auth/handoff') && state) { clearInterval(timer); document.title = 'state:' + state; }
}, 10);`;

function startEvilApp(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const pads = /^\/\?pads=(\d+)$/.exec(req.url ?? '');
    if (pads) {
      res.writeHead(200, { 'content-type': 'text/html' });
      const signin = `https://${webHost}/.kube-bastion/signin?rd=%2F`;
      return res.end(`<p>Team dashboard</p><script>${STEAL_STATE(signin, Number(pads[1]))}</script>`);
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(
  async () => {
    port = await freePort();
    base = `https://bastion.${SUFFIX}:${port}`;
    webHost = `web--team-a.${SUFFIX}:${port}`;
    [idp, evil, web] = await Promise.all([
      startTestIdP({
        users: { alice: teamAPerson('alice'), mallory: teamAPerson('mallory') },
        clients: [gatewayClient(base)],
      }),
      startEvilApp(),
      startEchoServer({ name: 'web' }),
    ]);
    const ca = await createTestCA();
    const cert = await ca.issue([`bastion.${SUFFIX}`, `*.${SUFFIX}`]);
    dir = mkdtempSync(join(tmpdir(), 'bastion-handoff-state-'));
    writeFileSync(join(dir, 'tls.crt'), cert.cert);
    writeFileSync(join(dir, 'tls.key'), cert.key);
    const evilPort = (evil.address() as AddressInfo).port;
    const config = tlsGatewayConfig({
      port,
      base,
      dir,
      issuer: idp.issuer,
      services: [
        teamAService('evil', evilPort),
        {
          namespace: 'team-a',
          name: 'web',
          ports: [{ name: 'http', port: 80, targetPort: web.port }],
          endpoints: ['127.0.0.1'],
        },
      ],
      extra: { routing: { hostSuffix: SUFFIX } },
    });
    gateway = await createGateway({ config, logger: silentLogger() });
    await gateway.listen();
    browser = await launchChromium([
      '--ignore-certificate-errors',
      `--host-resolver-rules=MAP *.${SUFFIX} 127.0.0.1`,
    ]);
  },
  { timeout: 60_000 },
);

after(async () => {
  await browser?.close();
  await gateway?.close();
  await Promise.allSettled([idp?.close(), web?.close(), new Promise((r) => evil?.close(r))]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signedIn(who: string): Promise<BrowserContext> {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(`${base}/auth/login?rd=%2Fauth%2Fwhoami`);
  await page.waitForSelector('#login');
  await page.fill('#login', who);
  await page.fill('#password', who);
  await Promise.all([page.waitForURL(`${base}/auth/whoami`), page.click('#submit')]);
  await page.close();
  return ctx;
}

/**
 * Alice opens Mallory's page, which pads her cookies for `/auth/handoff` and opens the routed host's
 * sign-in: what the page got — the state, or the window's request for `/auth/handoff` failing.
 */
async function openMallorysPage(
  alice: BrowserContext,
  pads: number,
): Promise<{ outcome: string; page: Page }> {
  const failed = alice.waitForEvent('requestfailed', {
    predicate: (r) => new URL(r.url()).pathname === '/auth/handoff',
  });
  const page = await alice.newPage();
  await page.goto(`${base}${EVIL}/?pads=${pads}`);
  assert.equal(await page.textContent('p'), 'Team dashboard');
  const outcome = await Promise.race([
    page
      .waitForFunction("document.title.startsWith('state:')")
      .then(async () => `read ${await page.title()}`),
    failed.then((r) => `no answer (${r.failure()?.errorText})`),
  ]);
  return { outcome, page };
}

// Within what the listener reads whole (~26 KB: the padding, Alice's session, the rest), and past it (~60 KB).
for (const pads of [6, 15])
  test(`a path-form app cannot read a routed host's handoff state from a too-large /auth/handoff (${pads} cookies of 3.9 KB)`, async () => {
    const alice = await signedIn('alice');
    try {
      const { outcome, page } = await openMallorysPage(alice, pads);
      assert.match(outcome, /^no answer/, `Mallory's page ${outcome}`);
      const seen = await page.evaluate<string>(
        "(() => { try { return String(window.w.location.href); } catch { return 'not readable'; } })()",
      );
      assert.doesNotMatch(seen, /state=/, 'the window shows nothing of the handoff to the opener');
      assert.doesNotMatch(await page.title(), /^state:/);
    } finally {
      await alice.close();
    }
  });
