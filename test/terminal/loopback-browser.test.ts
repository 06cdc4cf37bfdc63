/**
 * `kube-bastion login` in real Chromium against the real oidc-provider: the
 * CLI (a child process, its own XDG_CONFIG_HOME, $BROWSER a script that
 * records the URL) listens on 127.0.0.1, the person signs in and presses
 * Continue, the browser carries a one-time code back, the CLI redeems it.
 * Then the terminal's tokens at work: `token` with curl-like requests through
 * authorization and audit, `whoami`, the ExecCredential, and the files on disk.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { eventually } from '../support/eventually.js';
import {
  browserScript,
  ECHO_A,
  ECHO_B,
  exited,
  LOGIN_URL,
  run,
  signInAtIdP,
  startWorld,
  type World,
} from './world.js';

let world: World;
let browser: Browser;

before(async () => {
  [world, browser] = await Promise.all([startWorld(), launchChromium()]);
});

after(async () => {
  await browser?.close();
  await world?.close();
});

const mode = (path: string) => statSync(path).mode & 0o777;

test('login in the browser, then curl with `kube-bastion token`: authorized, audited, identity upstream', async () => {
  const opened = join(world.dir, 'opened.txt');
  const home = world.configHome();
  const login = world.cli(['login', world.publicURL], {
    XDG_CONFIG_HOME: home,
    BROWSER: browserScript(world.dir, opened),
  });
  const [, printed] = await login.waitFor(LOGIN_URL);
  // $BROWSER was given the same URL the CLI printed.
  await eventually(() => readFileSync(opened, 'utf8').trim() === printed, 10_000);
  assert.ok(printed.startsWith(`${world.publicURL}/auth/cli/authorize?`), printed);

  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(printed);
  await signInAtIdP(page, 'alice');
  assert.ok(page.url().startsWith(`${world.publicURL}/auth/cli/authorize?`), page.url());
  const main = (await page.textContent('main')) ?? '';
  assert.match(main, /Sign in the kube-bastion command line\?/);
  assert.match(main, /alice@example\.com/);
  assert.match(main, /Only continue if you just ran/);
  const port = new URL(printed).searchParams.get('port');
  await Promise.all([
    page.waitForURL((u) => u.origin === `http://127.0.0.1:${port}`),
    page.getByRole('button', { name: 'Continue' }).click(),
  ]);
  assert.equal(new URL(page.url()).pathname, '/callback');
  await page.waitForSelector('text=The kube-bastion command line is signed in');
  assert.equal(await exited(login), 0, login.stderr());
  assert.match(login.stdout(), new RegExp(`Signed in to ${world.publicURL} as alice@example\\.com`));
  await ctx.close();

  // The folder is 0700, the credentials 0600; nothing else was written (no verifier, no state).
  const dir = join(home, 'kube-bastion');
  assert.equal(mode(dir), 0o700);
  assert.equal(mode(join(dir, 'credentials')), 0o700);
  const files = readdirSync(join(dir, 'credentials'));
  assert.equal(files.length, 1, String(files));
  assert.equal(mode(join(dir, 'credentials', files[0])), 0o600);
  assert.deepEqual(readdirSync(dir).sort(), ['credentials', 'default']);

  const printedToken = await run(world, ['token'], { XDG_CONFIG_HOME: home });
  assert.equal(printedToken.code, 0, printedToken.stderr);
  const token = printedToken.stdout.trim();

  const before = world.echo.requests.length;
  const res = await fetch(`${world.publicURL}${ECHO_A}from-curl`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  const seen = world.echo.requests[before];
  assert.equal(seen.headers['x-forwarded-user'], 'alice@example.com');
  assert.equal(seen.headers.authorization, undefined, 'the CLI token never reaches the upstream');
  // alice is in team-a only: the static rule decides, as for any other caller.
  const denied = await fetch(`${world.publicURL}${ECHO_B}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(denied.status, 403);
  await eventually(() => world.audit().some((e) => e.namespace === 'team-b'));
  const events = world.audit().filter((e) => e.user === 'alice@example.com');
  assert.deepEqual(
    events.map((e) => [e.namespace, e.authMethod, e.decision]),
    [
      ['team-a', 'cli', 'allow'],
      ['team-b', 'cli', 'deny'],
    ],
  );

  const who = await run(world, ['whoami'], { XDG_CONFIG_HOME: home });
  assert.equal(who.code, 0, who.stderr);
  assert.match(
    who.stdout,
    /^alice@example\.com\ngroups: team-a, devs, system:authenticated\ngateway: .* \(signed in with cli\)\n$/,
  );

  const exec = await run(world, ['token', '--output', 'exec-credential'], { XDG_CONFIG_HOME: home });
  assert.equal(exec.code, 0, exec.stderr);
  const credential = JSON.parse(exec.stdout);
  assert.equal(credential.apiVersion, 'client.authentication.k8s.io/v1');
  assert.equal(credential.kind, 'ExecCredential');
  assert.equal(credential.status.token, token);
  assert.match(credential.status.expirationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const left = Date.parse(credential.status.expirationTimestamp) - Date.now();
  assert.ok(left > 50 * 60_000 && left <= 3600_000, `an hour's token: ${left} ms left`);
});

test('Cancel in the browser: the CLI stops with "cancelled", nothing is stored', async () => {
  const home = world.configHome();
  const login = world.cli(['login', world.publicURL], { XDG_CONFIG_HOME: home });
  const [, printed] = await login.waitFor(LOGIN_URL);
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(printed);
  await signInAtIdP(page, 'bob');
  await Promise.all([
    page.waitForURL((u) => u.hostname === '127.0.0.1' && u.pathname === '/callback'),
    page.getByRole('button', { name: 'Cancel' }).click(),
  ]);
  assert.equal(new URL(page.url()).searchParams.get('error'), 'access_denied');
  await ctx.close();
  assert.equal(await exited(login), 1);
  assert.match(login.stderr(), /cancelled in the browser/);
  assert.throws(() => statSync(join(home, 'kube-bastion', 'credentials')));
});
