/**
 * `kube-bastion demo` as a person runs it: the built CLI (`node dist/cli.js demo`, what
 * `npm run demo` runs), a URL printed within 5 s of the command starting, a URL that works
 * in a browser, a clean stop on Ctrl+C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { demoConfigInput } from '../../src/demo/config.js';
import { startDemo } from '../../src/demo/index.js';
import { launchChromium } from '../support/chromium.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const CLI = join(ROOT, 'dist/cli.js');
const START_BUDGET_MS = 5000;

/** Source files changed after the last build: the test then times yesterday's code. */
function newerThanBuild(): string[] {
  const built = statSync(CLI).mtimeMs;
  return readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => statSync(file).mtimeMs > built);
}

test('kube-bastion demo prints its URL within 5 s, the URL signs a person in, and it stops on SIGINT', async (t) => {
  assert.ok(
    existsSync(CLI),
    'dist/cli.js is missing: run `npm run build` first (.ci/run builds before testing)',
  );
  const stale = newerThanBuild();
  if (stale.length > 0) t.diagnostic(`dist/ is older than ${stale.length} source file(s): npm run build`);
  const started = Date.now();
  const child = spawn(process.execPath, [CLI, 'demo', '--port', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'exit');
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no URL printed within 30 s\n${stdout}\n${stderr}`)),
        30_000,
      );
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /Open:\s+(http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => reject(new Error(`demo exited early (${code})\n${stdout}\n${stderr}`)));
    });
    // Measured from spawn: process start, module loading, the IdP, the upstreams and the gateway.
    const elapsed = Date.now() - started;
    t.diagnostic(`node dist/cli.js demo printed its URL ${elapsed} ms after spawn`);
    assert.ok(elapsed < START_BUDGET_MS, `the demo took ${elapsed} ms to print its URL (budget 5 s)`);
    assert.match(stdout, /NEVER FOR PRODUCTION/);
    assert.match(stdout, /alice\s+groups: team-a, developers/);
    assert.match(stdout, /bob\s+groups: team-b/);

    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await page.getByLabel('Username').fill('alice');
      await page.getByLabel('Password').fill('whatever');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(url);
      assert.match((await page.textContent('header'))!, /Signed in as\s+alice/);
      assert.ok(await page.getByRole('link', { name: 'Open notes in team-a, port http (80)' }).isVisible());
    } finally {
      await browser.close();
    }
  } finally {
    child.kill('SIGINT');
    const [code] = await exited;
    assert.equal(code, 0, `demo did not stop cleanly on SIGINT\n${stderr}`);
  }
});

test('startDemo() returns a ready gateway that sends a browser to sign in', async () => {
  const demo = await startDemo({ port: 0 });
  try {
    assert.equal(demo.gateway.isReady(), true);
    const res = await fetch(demo.url, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location')!, /^\/auth\/login\?rd=%2F$/);
  } finally {
    await demo.close();
  }
});

test('the demo configuration passes the real validator and keeps everything on loopback', () => {
  const input = demoConfigInput({
    port: 8080,
    issuer: 'http://127.0.0.1:9999',
    clientID: 'c',
    clientSecret: 's',
    upstreams: { notes: 1, whoami: 2, echo: 3 },
  });
  const config = parseConfig(input, { env: {} });
  assert.equal(config.kubernetes, 'none');
  assert.equal(config.listen.address, '127.0.0.1');
  assert.equal(config.admin.address, '127.0.0.1');
  assert.deepEqual(config.upstream.allowedAddresses, ['127.0.0.0/8']);
  for (const s of config.static.services) for (const e of s.endpoints) assert.match(e, /^127\.0\.0\.1:/);
  assert.ok(config.authentication.session!.secret!.length >= 32);
  // Each team sees only its namespace.
  assert.deepEqual(
    config.authorization.rules.map((r) => [r.groups, r.namespaces]),
    [
      [['team-a'], ['team-a']],
      [['team-b'], ['team-b']],
    ],
  );
});
