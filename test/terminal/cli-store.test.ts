/**
 * The terminal's side, run as child processes: tokens are filed under the
 * exact origin the user typed and never sent anywhere else — not to another
 * gateway, not along a redirect, not chosen by anything a server says
 * (cloudflared VULN-141860); concurrent `kube-bastion token` runs refresh
 * once; logout revokes at the gateway before forgetting; a copied credentials
 * file used by two parties ends the sign-in for both.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { TokenStore } from '../../src/client/token-store.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import {
  ECHO_A,
  bearerGET,
  exited,
  hiddenFields,
  LOGIN_URL,
  run,
  startWorld,
  submit,
  type World,
} from './world.js';

let world: World;
/** A server at another origin that records every request it gets. */
let other: { url: string; seen: IncomingHttpHeaders[]; server: http.Server };

before(async () => {
  world = await startWorld();
  const seen: IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    // A hostile "gateway": it sends every caller on to the real one.
    res.writeHead(307, { location: `${world.publicURL}${req.url}` }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  other = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
});

after(async () => {
  other?.server.close();
  await world?.close();
});

/** `kube-bastion login` for real, its browser played by a FetchBrowser that signs in as `user`. */
async function cliLogin(home: string, user = 'alice'): Promise<void> {
  const login = world.cli(['login', world.publicURL], { XDG_CONFIG_HOME: home });
  const [, url] = await login.waitFor(LOGIN_URL);
  const person = new FetchBrowser();
  const page = await person.signIn(url, user);
  const post = await submit(
    person,
    `${world.publicURL}/auth/cli/authorize`,
    { ...hiddenFields(await page.text()), decision: 'allow' },
    world.publicURL,
  );
  const back = await person.request(post.headers.get('location')!);
  assert.equal(back.status, 200);
  assert.equal(await exited(login), 0, login.stderr());
}

const storeIn = (home: string) => new TokenStore(join(home, 'kube-bastion'));

/** Makes the stored access token look spent, so the next `token` must refresh. */
async function expireAccessToken(home: string): Promise<void> {
  const store = storeIn(home);
  const stored = (await store.load(world.publicURL))!;
  await store.save({ ...stored, accessTokenExpiresAt: Date.now() - 1000 }, { asDefault: false });
}

function refreshesIssued(): number {
  const metric = world.replicas[0].metrics.registry.getSingleMetric('kube_bastion_cli_token_requests_total');
  const values = (
    metric as unknown as { hashMap: Record<string, { value: number; labels: Record<string, string> }> }
  ).hashMap;
  return Object.values(values)
    .filter((v) => v.labels.grant === 'refresh_token' && v.labels.result === 'issued')
    .reduce((n, v) => n + v.value, 0);
}

test('a token is only ever sent to the origin it was issued for; redirects are not followed', async () => {
  const home = world.configHome();
  await cliLogin(home);
  const seenBefore = other.seen.length;

  // Another gateway: nothing stored for it, nothing sent to it.
  const elsewhere = await run(world, ['token', '--server', other.url], { XDG_CONFIG_HOME: home });
  assert.equal(elsewhere.code, 1);
  assert.match(elsewhere.stderr, new RegExp(`not signed in to ${other.url}`));
  // The same gateway spelled differently is another origin too (exactly what was typed).
  const spelled = await run(
    world,
    ['whoami', '--server', world.publicURL.replace('127.0.0.1', 'localhost')],
    {
      XDG_CONFIG_HOME: home,
    },
  );
  assert.equal(spelled.code, 1);
  assert.equal(other.seen.length, seenBefore);

  // Signed in at the hostile one too: its redirect towards the real gateway is not followed,
  // so it sees only its own token and the real gateway sees none of it.
  await storeIn(home).save(
    { origin: other.url, accessToken: 'token-of-the-other', accessTokenExpiresAt: Date.now() + 3600_000 },
    { asDefault: false },
  );
  const frontBefore = [...world.front.accepted.values()].reduce((a, b) => a + b, 0);
  const hostile = await run(world, ['whoami', '--server', other.url], { XDG_CONFIG_HOME: home });
  assert.equal(hostile.code, 1);
  assert.match(hostile.stderr, /redirect .* not followed/);
  assert.deepEqual(
    other.seen.slice(seenBefore).map((h) => h.authorization),
    ['Bearer token-of-the-other'],
  );
  assert.equal(
    [...world.front.accepted.values()].reduce((a, b) => a + b, 0),
    frontBefore,
    'the real gateway was not contacted',
  );

  // `login` made the real gateway the default.
  const mine = await run(world, ['whoami'], { XDG_CONFIG_HOME: home });
  assert.equal(mine.code, 0, mine.stderr);
  assert.match(mine.stdout, /^alice@example\.com/);
});

test('concurrent `kube-bastion token` runs refresh once and all print the same valid token', async () => {
  const home = world.configHome();
  await cliLogin(home);
  await expireAccessToken(home);
  const before = refreshesIssued();
  const runs = await Promise.all([1, 2, 3, 4].map(() => run(world, ['token'], { XDG_CONFIG_HOME: home })));
  for (const r of runs) assert.equal(r.code, 0, r.stderr);
  const printed = new Set(runs.map((r) => r.stdout.trim()));
  assert.equal(printed.size, 1, 'one refresh, one new token');
  assert.equal(refreshesIssued(), before + 1);
  assert.equal(
    (await bearerGET(`${world.publicURL}${ECHO_A}`, [...printed][0])).status,
    200,
    'the family is intact',
  );
  assert.deepEqual(
    readdirSync(join(home, 'kube-bastion', 'credentials')).filter((f) => f.endsWith('.lock')),
    [],
  );
});

test('logout revokes at the gateway, then forgets; without the gateway it keeps the credentials', async () => {
  const home = world.configHome();
  await cliLogin(home);
  const token = (await run(world, ['token'], { XDG_CONFIG_HOME: home })).stdout.trim();
  const out = await run(world, ['logout'], { XDG_CONFIG_HOME: home });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(
    (await bearerGET(`${world.publicURL}${ECHO_A}`, token)).status,
    401,
    'revoked, not just forgotten',
  );
  assert.equal(await storeIn(home).load(world.publicURL), undefined);
  const after = await run(world, ['token'], { XDG_CONFIG_HOME: home });
  assert.equal(after.code, 1);
  assert.match(after.stderr, /not signed in/);

  // A gateway that does not answer: nothing is deleted, so logging out can be tried again.
  const gone = 'http://127.0.0.1:9';
  await storeIn(home).save(
    { origin: gone, accessToken: 'x', accessTokenExpiresAt: Date.now() + 3600_000, refreshToken: 'y' },
    { asDefault: false },
  );
  const failed = await run(world, ['logout', '--server', gone], { XDG_CONFIG_HOME: home });
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /cannot reach/);
  assert.ok(await storeIn(home).load(gone), 'kept');
});

test('a copied credentials file: once both copies have refreshed, the sign-in is over for both', async () => {
  const home = world.configHome();
  await cliLogin(home);
  const thief = world.configHome();
  mkdirSync(join(thief, 'kube-bastion'), { recursive: true, mode: 0o700 });
  copyFileSync(join(home, 'kube-bastion', 'default'), join(thief, 'kube-bastion', 'default'));
  mkdirSync(join(thief, 'kube-bastion', 'credentials'), { mode: 0o700 });
  for (const f of readdirSync(join(home, 'kube-bastion', 'credentials')))
    copyFileSync(join(home, 'kube-bastion', 'credentials', f), join(thief, 'kube-bastion', 'credentials', f));

  await expireAccessToken(thief);
  const stolen = await run(world, ['token'], { XDG_CONFIG_HOME: thief });
  assert.equal(stolen.code, 0);
  await expireAccessToken(home);
  const mine = await run(world, ['token'], { XDG_CONFIG_HOME: home });
  assert.equal(mine.code, 1);
  assert.match(mine.stderr, /already used, so the sign-in was revoked/);
  assert.equal(await storeIn(home).load(world.publicURL), undefined, 'a dead sign-in is forgotten');
  assert.equal(
    (await bearerGET(`${world.publicURL}${ECHO_A}`, stolen.stdout.trim())).status,
    401,
    'the thief is out too',
  );
});
