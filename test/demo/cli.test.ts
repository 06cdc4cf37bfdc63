/**
 * `kube-bastion demo` as a person runs it: the command line from source (no build needed; the
 * built bin runs the demo in test/cli/packaged-bin.test.ts), a URL printed, a URL that works in
 * a browser, a clean stop on Ctrl+C. How fast it starts is not asserted (no wall-clock budgets in
 * tests): the packaged-bin test reports it as a diagnostic.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { demoConfigInput } from '../../src/demo/config.js';
import { startDemo } from '../../src/demo/index.js';
import { DEMO_URL, FROM_SOURCE, startCLI } from '../cli/cli-process.js';
import { launchChromium } from '../support/chromium.js';

test('kube-bastion demo prints its URL, the URL signs a person in, and it stops on SIGINT', async () => {
  const demo = startCLI([...FROM_SOURCE, 'demo', '--port', '0']);
  try {
    const [, url] = await demo.waitFor(DEMO_URL);
    assert.match(demo.stdout(), /NEVER FOR PRODUCTION/);
    assert.match(demo.stdout(), /alice\s+groups: team-a, developers/);
    assert.match(demo.stdout(), /bob\s+groups: team-b/);

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
    assert.equal(await demo.stop('SIGINT'), 0, `demo did not stop cleanly on SIGINT\n${demo.stderr()}`);
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
  for (const s of config.static.services)
    for (const e of s.endpoints) assert.ok(e.ip === '127.0.0.1' && e.port !== undefined, JSON.stringify(e));
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
