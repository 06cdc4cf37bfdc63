/**
 * Session planting, in real Chromium against a real https gateway and the real
 * IdP. Mallory runs an app (`team-a/evil`) that her colleague Alice may open
 * in the path form, on the gateway's own origin. She signs in herself, copies
 * her session cookie into her app, and waits for Alice to visit:
 *   - the app answers with `Set-Cookie: <gateway session>=<Mallory's>` (every
 *     spelling: the exact name, another case, another prefix, a Domain, a
 *     nameless cookie carrying the pair in its value);
 *   - the app's page writes the cookie with `document.cookie`, after flooding
 *     the cookie jar so the browser evicts Alice's own session first.
 * Either way Alice must never end up acting as Mallory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createGateway, type Gateway } from '../../src/server/gateway.js';
import { launchChromium } from '../support/chromium.js';
import { freePort } from '../support/free-port.js';
import { gatewayClient, startTestIdP, type TestIdP } from '../support/oidc-provider.js';
import { createTestCA } from '../support/tls.js';
import { captureLogs, type LogCapture } from './support/log-capture.js';
import { teamAService, tlsGatewayConfig } from './support/tls-gateway.js';

const EVIL = '/api/v1/namespaces/team-a/services/evil:http/proxy';

let idp: TestIdP;
let evil: http.Server;
let gateway: Gateway;
let browser: Browser;
let base = '';
let dir = '';
let log: LogCapture;
/** What the evil app answers with on /plant (Set-Cookie lines) and writes on /overflow (document.cookie). */
let planted: string[] = [];
let scripted: string[] = [];

/** What a page's script can still do: write a cookie, and read the gateway as the visitor. */
const PROBE = `
let cookie = 'written';
try { document.cookie = 'probe=1; Path=/; Secure'; if (!document.cookie.includes('probe')) cookie = 'blocked'; }
catch { cookie = 'blocked'; }
fetch('/auth/whoami', { credentials: 'include' })
  .then((r) => r.text()).then((t) => 'read ' + t.length, () => 'blocked')
  .then((read) => { document.title = 'cookie:' + cookie + ' whoami:' + read; });`;

function startEvilApp(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/plant') {
      res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': planted });
      return res.end('<p>welcome</p>');
    }
    if (req.url === '/overflow') {
      res.writeHead(200, { 'content-type': 'text/html' });
      const flood = `for (let i = 0; i < 400; i++) document.cookie = 'flood' + i + '=x; Path=/; Secure';`;
      const plant = scripted.map((c) => `document.cookie = ${JSON.stringify(c)};`).join('\n');
      return res.end(`<p>loading</p><script>${flood}\n${plant}\ndocument.title = 'done';</script>`);
    }
    if (req.url === '/sandboxed/pixel.svg') {
      res.writeHead(200, { 'content-type': 'image/svg+xml' });
      return res.end(
        '<svg xmlns="http://www.w3.org/2000/svg" width="7" height="3"><rect width="7" height="3"/></svg>',
      );
    }
    if (req.url === '/sandboxed/page') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(`<p>sandboxed</p><img id="px" src="/sandboxed/pixel.svg"><script>${PROBE}</script>`);
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

before(
  async () => {
    const port = await freePort();
    base = `https://127.0.0.1:${port}`;
    const users = {
      alice: {
        password: 'alice',
        email: 'alice@example.com',
        email_verified: true,
        name: 'Alice',
        groups: ['team-a'],
      },
      mallory: {
        password: 'mallory',
        email: 'mallory@example.com',
        email_verified: true,
        name: 'Mallory',
        groups: ['team-a'],
      },
    };
    [idp, evil] = await Promise.all([
      startTestIdP({ users, clients: [gatewayClient(base)] }),
      startEvilApp(),
    ]);
    const cert = await (await createTestCA()).issue(['127.0.0.1']);
    dir = mkdtempSync(join(tmpdir(), 'bastion-planting-'));
    writeFileSync(join(dir, 'tls.crt'), cert.cert);
    writeFileSync(join(dir, 'tls.key'), cert.key);
    const evilPort = (evil.address() as AddressInfo).port;
    log = captureLogs();
    const config = tlsGatewayConfig({
      port,
      base,
      dir,
      issuer: idp.issuer,
      services: [teamAService('evil', evilPort)],
      extra: {
        upstream: { rewrite: { sandbox: [`${EVIL}/sandboxed/**`] } },
        logging: { level: 'debug' },
      },
    });
    gateway = await createGateway({ config, logger: log.logger });
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

async function signIn(who: string): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(`${base}/auth/login?rd=/auth/whoami`);
  await page.waitForSelector('#login');
  await page.fill('#login', who);
  await page.fill('#password', who);
  await Promise.all([page.waitForURL(`${base}/auth/whoami`), page.click('#submit')]);
  assert.equal(await whoami(page), `${who}@example.com`);
  return { ctx, page };
}

/** Who the gateway takes this browser for ('' when it is sent to sign in). */
async function whoami(page: Page): Promise<string> {
  const res = await page.goto(`${base}/auth/whoami`);
  if (!page.url().startsWith(`${base}/auth/whoami`) || res?.status() !== 200) return '';
  return (JSON.parse((await page.textContent('body')) ?? '{}') as { username?: string }).username ?? '';
}

/** Mallory's own session: every gateway cookie her browser holds, as name/value pairs. */
async function mallorysSession(): Promise<{ name: string; value: string }[]> {
  const { ctx } = await signIn('mallory');
  const cookies = (await ctx.cookies(base)).filter((c) => /kube_bastion/i.test(c.name));
  await ctx.close();
  assert.ok(cookies.length > 0, 'Mallory holds a session cookie');
  return cookies.map(({ name, value }) => ({ name, value }));
}

const bare = (name: string) => name.replace(/^(__host-http-|__host-|__http-|__secure-)/i, '');

test('an upstream Set-Cookie naming the gateway session is dropped: the visitor stays herself', async () => {
  const session = await mallorysSession();
  planted = session.flatMap(({ name, value }) => [
    `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax`,
    `${name.toUpperCase()}=${value}; Path=/; Secure; HttpOnly`,
    `__Secure-${bare(name)}=${value}; Path=/; Secure; HttpOnly`,
    `${bare(name)}=${value}; Path=/; Domain=127.0.0.1; Secure; HttpOnly`,
    `=${name}=${value}; Path=/; Secure`,
  ]);
  planted.push('theme=dark; Path=/; Secure');

  const { ctx, page } = await signIn('alice');
  const mark = log.mark();
  const visit = await page.goto(`${base}${EVIL}/plant`);
  assert.equal(visit?.status(), 200);
  assert.equal(await page.textContent('p'), 'welcome', 'the app itself still works');

  assert.equal(await whoami(page), 'alice@example.com', 'Alice is still Alice, not Mallory');
  const jar = await ctx.cookies();
  const values = new Set(session.map((c) => c.value));
  assert.deepEqual(
    jar.filter((c) => values.has(c.value) || [...values].some((v) => c.value.includes(v))),
    [],
    "no cookie in Alice's browser carries Mallory's session",
  );
  const theme = jar.find((c) => c.name === 'theme');
  assert.equal(theme?.path, EVIL, "the app's own cookie arrives, scoped to the app");

  const dropped = log
    .since(mark)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => /Set-Cookie dropped/.test(String(l.msg)));
  assert.equal(dropped.length, planted.length - 1, 'every planted line is logged');
  assert.ok(
    dropped.every((l) => l.upstream === 'services/team-a/evil:http' && l.level === 'debug'),
    'at debug, with the upstream',
  );
  const text = log.since(mark).join('\n');
  for (const v of values) assert.ok(!text.includes(v), 'the log never carries the cookie value');
  await ctx.close();
});

test("the app's page cannot plant the session with document.cookie, even after flooding the jar", async () => {
  const session = await mallorysSession();
  scripted = session.map(({ name, value }) => `${name}=${value}; Path=/; Secure`);

  const { ctx, page } = await signIn('alice');
  await page.goto(`${base}${EVIL}/overflow`);
  await page.waitForFunction("document.title === 'done'");

  const who = await whoami(page);
  assert.notEqual(who, 'mallory@example.com', 'Alice never acts as Mallory');
  const jar = await ctx.cookies();
  const values = new Set(session.map((c) => c.value));
  assert.equal(jar.filter((c) => values.has(c.value)).length, 0, "Mallory's session is not in Alice's jar");
  await ctx.close();
});

test('a sandboxed page (upstream.rewrite.sandbox) runs its script, but cannot write cookies or read the gateway', async () => {
  const { ctx, page } = await signIn('alice');
  const res = await page.goto(`${base}${EVIL}/sandboxed/page`);
  assert.match(res?.headers()['content-security-policy'] ?? '', /sandbox allow-scripts /);
  await page.waitForFunction("document.title.startsWith('cookie:')");
  assert.equal(await page.title(), 'cookie:blocked whoami:blocked');
  // The price (docs/security.md): the page is cross-site to the gateway, so its own requests carry
  // no session either; only self-contained pages work sandboxed.
  assert.equal(await page.evaluate("document.getElementById('px').naturalWidth"), 0);
  assert.equal((await ctx.cookies()).filter((c) => c.name === 'probe').length, 0);
  // The same probe outside the sandboxed paths shows what an ordinary path-form page can do.
  await page.goto(`${base}${EVIL}/plant`);
  await page.evaluate(PROBE);
  await page.waitForFunction("document.title.startsWith('cookie:')");
  assert.match(await page.title(), /^cookie:written whoami:read \d+$/);
  await ctx.close();
});
