/**
 * `kube-bastion connect`'s loopback listener in front of an internal HTTP
 * admin API, and a real Chromium: the person who opens http://127.0.0.1:PORT/
 * uses the service, page and all; another site's blind POST to that address,
 * and a DNS-rebinding name for it, never reach the service. Chromium resolves
 * evil.example and rebind.attacker.example to 127.0.0.1 by a launch flag.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { eventually } from '../support/eventually.js';
import { startTerminal, type Terminal } from './support/terminal.js';
import { startTunnelWorld, tcpService, type TunnelWorld } from './support/world.js';

let w: TunnelWorld;
let term: Terminal;
let browser: Browser;
let admin: http.Server;
let evil: http.Server;
const seen: string[] = [];

async function listening(server: http.Server, host: string): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as net.AddressInfo).port;
}

before(async () => {
  admin = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.origin ?? '-'}`);
    res.setHeader('connection', 'close');
    // No favicon request: what reaches the service is what the test did.
    const page = '<link rel="icon" href="data:,"><h1>admin console</h1>';
    if (req.method === 'GET') res.setHeader('content-type', 'text/html').end(page);
    else res.end('dropped');
  });
  evil = http.createServer((_req, res) => res.setHeader('content-type', 'text/html').end('<h1>cats</h1>'));
  const [adminPort] = await Promise.all([listening(admin, '127.0.0.8'), listening(evil, '127.0.0.1')]);
  [w, browser] = await Promise.all([
    startTunnelWorld({ objects: () => tcpService('admin', 8080, '127.0.0.8', adminPort) }),
    launchChromium([
      '--host-resolver-rules=MAP evil.example 127.0.0.1, MAP rebind.attacker.example 127.0.0.1',
    ]),
  ]);
  term = startTerminal();
  await term.signIn(w.h.url, w.alice);
});

after(async () => {
  await browser?.close();
  await term?.close();
  await w?.close();
  await Promise.all([admin, evil].map((s) => new Promise((resolve) => s?.close(resolve))));
});

test('Chromium: the person’s own page works; another site’s blind POST and a rebinding name do not reach the service', async () => {
  const { cli, ports } = await term.connect(['team-a/admin:8080', '--server', w.h.url]);
  const port = ports[0];
  const context = await browser.newContext();
  try {
    // The person opens the tunnelled admin console and uses it.
    const own = await context.newPage();
    await own.goto(`http://127.0.0.1:${port}/`);
    assert.equal(await own.textContent('h1'), 'admin console');
    const answer = await own.evaluate(() =>
      fetch('/admin/drop', { method: 'POST', body: 'one' }).then((r) => r.text()),
    );
    assert.equal(answer, 'dropped');
    assert.deepEqual(seen, ['GET / -', `POST /admin/drop http://127.0.0.1:${port}`]);
    seen.length = 0;

    // Another site the person visits, writing blind.
    const page = await context.newPage();
    await page.goto(`http://evil.example:${(evil.address() as net.AddressInfo).port}/`);
    const blind = await page.evaluate(
      (url) =>
        fetch(url, { method: 'POST', mode: 'no-cors', body: 'all' }).then(
          () => 'sent',
          (e: Error) => e.message,
        ),
      `http://127.0.0.1:${port}/admin/drop`,
    );
    assert.equal(blind, 'Failed to fetch');
    await eventually(() => /\(Sec-Fetch-Site cross-site\)/.test(cli.stderr()));

    // A DNS-rebinding name for 127.0.0.1 at the listener's port.
    await assert.rejects(page.goto(`http://rebind.attacker.example:${port}/`), /net::ERR_/);
    await eventually(() => cli.stderr().includes(`(Host rebind.attacker.example:${port})`));
    assert.deepEqual(seen, [], 'no request of a page reached the service');
  } finally {
    await context.close();
  }
});
