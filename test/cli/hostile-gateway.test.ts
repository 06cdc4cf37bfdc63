/**
 * A hostile gateway (the person typed a phishing URL) or a hostile IdP user
 * name against the person's terminal (Kubernetes CVE-2021-25743): whatever
 * the CLI prints of a server's text reaches the terminal with its control,
 * C1 and bidi characters escaped, cut short, on one line — it cannot set the
 * window title, clear the screen, rewrite earlier lines, plant a hyperlink or
 * reverse text. The real CLI as a child process against a real server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TERMINAL_PATHS } from '../../src/authn/terminal/protocol.js';
import { TokenStore } from '../../src/client/token-store.js';
import { FROM_SOURCE, startCLI } from './cli-process.js';

/** OSC title, clear screen, CR, OSC 8 hyperlink, 8-bit CSI, bidi override, zero-width space, and length. */
const HOSTILE =
  'denied\x1b]0;pwned\x07\x1b[2J\rroot\u202egnp.exe\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\' +
  `\u009b31m\u200b\u2028${'A'.repeat(5000)}`;

/** Every character a terminal acts on or that reorders/hides text, but a line's end. */
const UNSAFE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

function assertSafe(text: string, what: string, whole = false): void {
  const bad = [...text.replaceAll('\n', '')].find((c) => UNSAFE.test(c));
  assert.equal(
    bad,
    undefined,
    `${what} carries U+${bad?.codePointAt(0)?.toString(16)}: ${JSON.stringify(text.slice(0, 300))}`,
  );
  if (!whole) assert.ok(text.length < 2000, `${what} is cut short (${text.length} chars)`);
}

type Answer = { status: number; body: unknown };
let answers: Record<string, Answer> = {};
let server: http.Server;
let origin: string;

before(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const a = answers[path] ?? { status: 403, body: { kind: 'Status', message: HOSTILE } };
    res.writeHead(a.status, { 'content-type': 'application/json' }).end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise((r) => server.close(r)));

const identity = { username: HOSTILE, groups: [HOSTILE, 'ops'], email: `x\u202e@evil.example` };

/** A terminal signed in to the hostile gateway; `fresh: false` makes the next command refresh. */
async function signedIn(fresh = true): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'bastion-hostile-'));
  const now = Date.now();
  await new TokenStore(join(home, 'kube-bastion')).save({
    origin,
    accessToken: 'at',
    accessTokenIssuedAt: now - 3_600_000,
    accessTokenExpiresAt: fresh ? now + 3_600_000 : now - 1,
    refreshToken: 'rt',
    refreshTokenExpiresAt: now + 3_600_000,
  });
  return home;
}

async function run(args: string[], home: string) {
  const cli = startCLI([...FROM_SOURCE, ...args], { ...process.env, XDG_CONFIG_HOME: home, BROWSER: '' });
  const code = await new Promise<number | null>((done) => cli.child.on('close', done));
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

test('a Kubernetes Status message is printed as one safe line that still says what went wrong', async () => {
  answers = {};
  const r = await run(['whoami', '--server', origin], await signedIn());
  assert.equal(r.code, 1);
  assertSafe(r.stderr, 'stderr');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^kube-bastion: denied\\x1b\]0;pwned\\x07\\x1b\[2J\\x0droot\\u202egnp/);
});

test('an OAuth error_description from a refresh is escaped and cut short', async () => {
  answers = {
    [TERMINAL_PATHS.token]: { status: 400, body: { error: 'server_error', error_description: HOSTILE } },
  };
  const r = await run(['token', '--server', origin], await signedIn(false));
  assert.equal(r.code, 1);
  assertSafe(r.stderr, 'stderr');
  assert.match(r.stderr, /kube-bastion: denied\\x1b/);
});

test('whoami prints the IdP’s user name and groups escaped; its JSON keeps the values', async () => {
  answers = { [TERMINAL_PATHS.whoami]: { status: 200, body: { ...identity, method: `oidc\x1b[8m` } } };
  const home = await signedIn();
  const text = await run(['whoami', '--server', origin], home);
  assert.equal(text.code, 0, text.stderr);
  assertSafe(text.stdout, 'whoami');
  assert.match(text.stdout, /^denied\\x1b\]0;pwned/);
  assert.match(text.stdout, /groups: denied\\x1b.*, ops\n/);
  const json = await run(['whoami', '--server', origin, '-o', 'json'], home);
  assert.equal(json.code, 0, json.stderr);
  assertSafe(json.stdout, 'whoami -o json', true);
  assert.equal((JSON.parse(json.stdout) as { username: string }).username, HOSTILE, 'the data is intact');
});

test('login --device: the signed-in user name and a failed poll are escaped', async () => {
  const device = { device_code: 'd', user_code: 'BCDF-GHJK', expires_in: 600, interval: 1 };
  const tokens = { access_token: 'a', token_type: 'Bearer', expires_in: 600, refresh_token: 'r' };
  answers = {
    [TERMINAL_PATHS.device]: { status: 200, body: device },
    [TERMINAL_PATHS.token]: {
      status: 200,
      body: { ...tokens, refresh_token_expires_in: 3600, identity },
    },
  };
  const home = mkdtempSync(join(tmpdir(), 'bastion-hostile-'));
  const ok = await run(['login', origin, '--device'], home);
  assert.equal(ok.code, 0, ok.stderr);
  assertSafe(ok.stdout, 'login stdout');
  assert.match(ok.stdout, /as denied\\x1b/);
  answers[TERMINAL_PATHS.token] = {
    status: 400,
    body: { error: `x\x1b[1A\x1b[2K`, error_description: HOSTILE },
  };
  const failed = await run(['login', origin, '--device'], home);
  assert.equal(failed.code, 1);
  assertSafe(failed.stderr, 'login stderr');
});

test('connect: the gateway’s refusal of a tunnel is one safe line', async () => {
  answers = {};
  const r = await run(['connect', 'team-a/db:5432', '--stdio', '--server', origin], await signedIn());
  assert.equal(r.code, 1);
  assertSafe(r.stderr, 'connect stderr');
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /403 Forbidden: denied\\x1b/);
});

test('an access token that is not a bearer token’s characters is refused at login, never printed by `token`', async () => {
  const device = { device_code: 'd', user_code: 'BCDF-GHJK', expires_in: 600, interval: 1 };
  const tokens = { access_token: 'ey.x\x1b]0;pwned\x07\u202e', token_type: 'Bearer', expires_in: 600 };
  answers = {
    [TERMINAL_PATHS.device]: { status: 200, body: device },
    [TERMINAL_PATHS.token]: {
      status: 200,
      body: {
        ...tokens,
        refresh_token: 'r',
        refresh_token_expires_in: 3600,
        identity: { username: 'a', groups: [] },
      },
    },
  };
  const home = mkdtempSync(join(tmpdir(), 'bastion-hostile-'));
  const login = await run(['login', origin, '--device'], home);
  assert.equal(login.code, 1, login.stdout);
  assert.match(login.stderr, /kube-bastion: the gateway answered with a malformed access token/);
  const token = await run(['token', '--server', origin], home);
  assertSafe(token.stdout, 'token stdout');
  assert.equal(token.code, 1, 'nothing was stored');
});

test('a refresh token that is not a string (null, a list) is refused at login, not stored', async () => {
  for (const refresh of [null, ['a', 'b']]) {
    answers = {
      [TERMINAL_PATHS.device]: {
        status: 200,
        body: { device_code: 'd', user_code: 'BCDF-GHJK', expires_in: 600, interval: 1 },
      },
      [TERMINAL_PATHS.token]: {
        status: 200,
        body: {
          access_token: 'ey.good.token',
          token_type: 'Bearer',
          expires_in: 600,
          refresh_token: refresh,
          refresh_token_expires_in: 3600,
          identity: { username: 'a', groups: [] },
        },
      },
    };
    const home = mkdtempSync(join(tmpdir(), 'bastion-hostile-'));
    const login = await run(['login', origin, '--device'], home);
    assert.equal(login.code, 1, `${JSON.stringify(refresh)}: ${login.stdout}`);
    assert.match(login.stderr, /malformed access token/);
    assert.equal((await run(['token', '--server', origin], home)).code, 1, 'nothing was stored');
  }
});
