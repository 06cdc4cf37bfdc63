/**
 * A path-form app's script against the gateway's own confirmation pages, in
 * real Chromium against a real https gateway and the real IdP.
 *
 * Mallory runs an app (`team-a/evil`) that her colleague Alice may open in the
 * path form, on the gateway's own origin. On her own machine Mallory starts
 * `kube-bastion login --device` and puts the user code it printed into her
 * app's page. When Alice opens the page, its script reads the device
 * confirmation page with Alice's session (same origin: readable), takes the
 * form token and posts "Confirm" (same origin: the Origin check passes).
 * Mallory's terminal then holds a CLI token for Alice — a credential that
 * works from anywhere, for hours, on every service Alice may reach, long
 * after Alice left the page.
 *
 * What must hold: visiting an app never signs anybody's terminal in; only
 * Alice's own click on the gateway's page does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import { launchChromium } from '../support/chromium.js';
import { freePort } from '../support/free-port.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { createTestCA } from '../support/tls.js';

const EVIL = '/api/v1/namespaces/team-a/services/evil:http/proxy';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

let idp: TestIdP;
let evil: http.Server;
let gateway: Gateway;
let browser: Browser;
let base = '';
let dir = '';
let caPem = '';
/** The user code Mallory's terminal printed; her app's page confirms it. */
let mallorysCode = '';

/** Mallory's page: reads the confirmation page as the visitor, then confirms it as the visitor. */
const confirmScript = (code: string) => `
(async () => {
  const page = await fetch('/auth/device?user_code=' + encodeURIComponent(${JSON.stringify(code)})).then((r) => r.text());
  const field = (name) => (new RegExp('name="' + name + '" value="([^"]*)"').exec(page) || [])[1] || '';
  const body = new URLSearchParams({ user_code: field('user_code'), form_token: field('form_token'), decision: 'allow' });
  const r = await fetch('/auth/device', { method: 'POST', body });
  document.title = 'done ' + r.status;
})().catch((e) => { document.title = 'done ' + e; });`;

function startEvilApp(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<p>Team dashboard</p><script>${confirmScript(mallorysCode)}</script>`);
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(
  async () => {
    const port = await freePort();
    base = `https://127.0.0.1:${port}`;
    const person = (name: string) => ({
      password: name,
      email: `${name}@example.com`,
      email_verified: true,
      name,
      groups: ['team-a'],
    });
    [idp, evil] = await Promise.all([
      startTestIdP({
        users: { alice: person('alice'), mallory: person('mallory') },
        clients: [gatewayClient(base)],
      }),
      startEvilApp(),
    ]);
    const ca = await createTestCA();
    caPem = ca.caPem;
    const cert = await ca.issue(['127.0.0.1']);
    dir = mkdtempSync(join(tmpdir(), 'bastion-device-from-app-'));
    writeFileSync(join(dir, 'tls.crt'), cert.cert);
    writeFileSync(join(dir, 'tls.key'), cert.key);
    const evilPort = (evil.address() as AddressInfo).port;
    const config = parseConfig(
      {
        listen: {
          address: '127.0.0.1',
          port,
          tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
        },
        admin: { address: '127.0.0.1', port: 0 },
        publicURL: base,
        kubernetes: 'none',
        static: {
          services: [
            {
              namespace: 'team-a',
              name: 'evil',
              ports: [{ name: 'http', port: evilPort }],
              endpoints: [`127.0.0.1:${evilPort}`],
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
          session: { secret: 'a-test-session-secret-that-is-long-enough' },
          cli: { devicePollInterval: '1s' },
        },
        logging: { level: 'silent', audit: { enabled: false } },
      },
      { env: {} },
    );
    gateway = await createGateway({ config, logger: silentLogger() });
    await gateway.listen();
    browser = await launchChromium(['--ignore-certificate-errors']);
  },
  { timeout: 60_000 },
);

after(async () => {
  await browser?.close();
  await gateway?.close();
  await Promise.allSettled([idp?.close(), new Promise((r) => evil?.close(r))]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What Mallory's terminal sends (`kube-bastion login --device`), trusting the test CA; the JSON answer. */
function terminalPost(path: string, fields: Record<string, string>) {
  const body = new URLSearchParams(fields).toString();
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const req = https.request(
      `${base}${path}`,
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
    req.end(body);
  });
}

test("opening a path-form app never confirms a device sign-in: Mallory's terminal gets no token for Alice", async () => {
  const started = await terminalPost('/auth/cli/device', { client_name: 'mallory-laptop' });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  mallorysCode = String(started.body.user_code);
  const deviceCode = String(started.body.device_code);

  // Alice signs in and opens Mallory's app, as she does every day.
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(`${base}${EVIL}/`);
  await page.waitForSelector('#login');
  await page.fill('#login', 'alice');
  await page.fill('#password', 'alice');
  await Promise.all([page.waitForURL(`${base}${EVIL}/`), page.click('#submit')]);
  assert.equal(await page.textContent('p'), 'Team dashboard');
  await page.waitForFunction("document.title.startsWith('done')");
  const scriptSaw = await page.title();
  await ctx.close();

  const polled = await terminalPost('/auth/cli/token', { grant_type: DEVICE_GRANT, device_code: deviceCode });
  const identity = polled.body.identity as { username?: string } | undefined;
  assert.equal(
    polled.body.error,
    'authorization_pending',
    `the app's script (${scriptSaw}) signed Mallory's terminal in as ${identity?.username ?? '?'} ` +
      `(token endpoint ${polled.status}, access_token ${polled.body.access_token ? 'issued' : 'absent'})`,
  );
});
