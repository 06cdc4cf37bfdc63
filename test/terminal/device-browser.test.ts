/**
 * `kube-bastion login --device` in real Chromium: the CLI prints a code, a
 * person signs in on "another device" (a separate browser context), enters
 * the code, sees which device asks, and confirms. Then the grant's rules,
 * over HTTP as a terminal and a browser send them: it binds to whoever
 * confirms, it is decided and redeemed once, a denial is access_denied, it
 * expires (the gateway's clock is moved), polls too fast get slow_down.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import {
  ECHO_A,
  exited,
  hiddenFields,
  postForm,
  run,
  signInAtIdP,
  startWorld,
  USER_CODE,
  type World,
} from './world.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
let world: World;
let browser: Browser;

before(async () => {
  [world, browser] = await Promise.all([startWorld(), launchChromium()]);
});

after(async () => {
  await browser?.close();
  await world?.close();
});

const start = async (name = 'build-box') => {
  const r = await postForm(`${world.publicURL}/auth/cli/device`, { client_name: name });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as {
    device_code: string;
    user_code: string;
    verification_uri_complete: string;
    interval: number;
  };
};
const poll = (deviceCode: string) =>
  postForm(`${world.publicURL}/auth/cli/token`, { grant_type: DEVICE_GRANT, device_code: deviceCode });

/** A person signed in at the gateway (without Chromium), looking at the confirmation page of `code`. */
async function personAt(user: string, code: string) {
  const person = new FetchBrowser();
  const res = await person.signIn(`${world.publicURL}/auth/device?user_code=${code}`, user);
  return { person, status: res.status, html: await res.text() };
}

const decide = (person: FetchBrowser, fields: Record<string, string>, decision: 'allow' | 'deny') =>
  person.request(`${world.publicURL}/auth/device`, {
    method: 'POST',
    body: new URLSearchParams({ ...fields, decision }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: world.publicURL },
  });

test('login --device: the code entered and confirmed in a browser elsewhere signs the terminal in', async () => {
  const home = world.configHome();
  const login = world.cli(['login', '--device', world.publicURL], { XDG_CONFIG_HOME: home });
  const [, code] = await login.waitFor(USER_CODE);
  assert.match(login.stdout(), new RegExp(`${world.publicURL}/auth/device\\n`));

  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${world.publicURL}/auth/device`);
  await signInAtIdP(page, 'alice');
  await page.fill('#user_code', code.toLowerCase().replace('-', ' '));
  await page.getByRole('button', { name: 'Next' }).click();
  const main = (await page.textContent('main')) ?? '';
  assert.match(main, /Sign in this device as you\?/);
  assert.match(main, new RegExp(code));
  assert.match(main, /kube-bastion on .+@/, 'the name the device gave');
  assert.match(main, /127\.0\.0\.1/, 'the address it asked from');
  assert.match(main, /less than a minute ago/);
  assert.match(main, /Only confirm a sign-in you started yourself/);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.waitForSelector('text=Device signed in');
  await ctx.close();

  assert.equal(await exited(login), 0, login.stderr());
  assert.match(login.stdout(), /Signed in to .* as alice@example\.com/);
  const token = (await run(world, ['token'], { XDG_CONFIG_HOME: home })).stdout.trim();
  const res = await fetch(`${world.publicURL}${ECHO_A}`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
});

test('the grant binds to whoever confirms; once decided nobody can change it; it is redeemed once', async () => {
  const grant = await start();
  const code = grant.user_code;
  assert.equal((await poll(grant.device_code)).body.error, 'authorization_pending');

  // Alice opens the page first and keeps it; Bob confirms.
  const alice = await personAt('alice', code);
  assert.equal(alice.status, 200);
  const bob = await personAt('bob', code);
  const bobDecision = await decide(bob.person, hiddenFields(bob.html), 'allow');
  assert.equal(bobDecision.status, 200);

  // Alice's confirmation comes too late: nothing changes, and her page says so.
  const late = await decide(alice.person, hiddenFields(alice.html), 'deny');
  assert.equal(late.status, 409);
  assert.match(await late.text(), /already used/);
  const again = await personAt('alice', code);
  assert.equal(again.status, 409);

  // A decided grant is answered at once (only waiting is paced).
  const tokens = await poll(grant.device_code);
  assert.equal(tokens.status, 200);
  assert.equal((tokens.body.identity as { username: string }).username, 'bob@example.com');
  const replay = await poll(grant.device_code);
  assert.equal(replay.body.error, 'invalid_grant', 'a device code is redeemed once');
});

test('Deny: the terminal gets access_denied, and the code is spent', async () => {
  const grant = await start();
  const { person, html } = await personAt('alice', grant.user_code);
  assert.equal((await decide(person, hiddenFields(html), 'deny')).status, 200);
  assert.equal((await poll(grant.device_code)).body.error, 'access_denied');
  assert.equal((await poll(grant.device_code)).body.error, 'invalid_grant');
});

test('a code nobody confirms expires: expired_token for the terminal, "expired" on the page', async () => {
  const grant = await start();
  world.clock.advance(10 * 60_000 + 1);
  assert.equal((await poll(grant.device_code)).body.error, 'expired_token');
  const { status, html } = await personAt('alice', grant.user_code);
  assert.equal(status, 410);
  assert.match(html, /expired/);
});

test('polling faster than the interval gets slow_down', async () => {
  const grant = await start();
  assert.equal((await poll(grant.device_code)).body.error, 'authorization_pending');
  const fast = await poll(grant.device_code);
  assert.equal(fast.status, 400);
  assert.equal(fast.body.error, 'slow_down');
});

test('the confirmation form is refused without its token, from another origin, or with another session’s token', async () => {
  const grant = await start();
  const alice = await personAt('alice', grant.user_code);
  const bob = await personAt('bob', grant.user_code);
  const fields = hiddenFields(alice.html);
  const { form_token: _token, ...withoutToken } = fields;
  assert.equal((await decide(alice.person, withoutToken, 'allow')).status, 403);
  // Bob posts Alice's form (her token): it is bound to her session.
  assert.equal((await decide(bob.person, fields, 'allow')).status, 403);
  const crossSite = await alice.person.request(`${world.publicURL}/auth/device`, {
    method: 'POST',
    body: new URLSearchParams({ ...fields, decision: 'allow' }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
  });
  assert.equal(crossSite.status, 403);
  assert.equal((await poll(grant.device_code)).body.error, 'authorization_pending', 'still undecided');
});

test('guessing codes is capped per person; starting device sign-ins is capped per address', async () => {
  const grant = await start();
  const guesser = new FetchBrowser();
  await guesser.signIn(`${world.publicURL}/auth/device`, 'bob');
  for (let i = 0; i < 10; i++) {
    const miss = await guesser.get(`${world.publicURL}/auth/device?user_code=BBBB-BBB${'CDFGHJKLMN'[i]}`);
    assert.equal(miss.status, 404);
  }
  const capped = await guesser.get(`${world.publicURL}/auth/device?user_code=${grant.user_code}`);
  assert.equal(capped.status, 429, 'even the right code, after ten wrong ones');
  assert.match(await capped.text(), /Too many codes were tried/);

  let refused: Awaited<ReturnType<typeof postForm>> | undefined;
  for (let i = 0; i < 11 && !refused; i++) {
    const r = await postForm(`${world.publicURL}/auth/cli/device`, { client_name: 'flood' });
    if (r.status !== 200) refused = r;
  }
  assert.equal(refused?.status, 429);
  assert.equal(refused?.body.error, 'slow_down');
});
