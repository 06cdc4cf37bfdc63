/**
 * The loopback flow's defences, over HTTP as a browser and a terminal send
 * it: the redirect never goes anywhere but 127.0.0.1:<port>/callback however
 * the request is dressed up (Pomerium CVE-2021-29651); the confirmation is a
 * POST from the gateway's own page with this session's token (CSRF); the
 * form makes one code and the code is good once, briefly, and only with its
 * verifier; a bearer token
 * cannot confirm anything; and each login attempt has its own secrets
 * (cloudflared VULN-141861).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FetchBrowser } from '../support/fetch-browser.js';
import {
  hiddenFields,
  LOGIN_URL,
  loopbackAttempt,
  postForm,
  protocolLogin,
  submit,
  startWorld,
  type World,
} from './world.js';

let world: World;
let alice: FetchBrowser;

before(async () => {
  world = await startWorld();
  alice = new FetchBrowser();
  await alice.signIn(`${world.publicURL}/`, 'alice');
});

after(() => world?.close());

const authorize = () => `${world.publicURL}/auth/cli/authorize`;
const redeem = (code: string, verifier: string) =>
  postForm(`${world.publicURL}/auth/cli/token`, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
  });

/** The confirmation page for an attempt, and its form fields. */
async function confirmationPage(person: FetchBrowser, url: string) {
  const res = await person.get(url);
  const html = await res.text();
  return { status: res.status, html, fields: hiddenFields(html) };
}

test('the redirect is built from the port alone: always http://127.0.0.1:<port>/callback', async () => {
  const attempt = loopbackAttempt(world.publicURL, 43_210);
  // Everything an attacker might add to steer the redirect is ignored.
  const dressed = `${attempt.url}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&host=evil.example&rd=//evil.example`;
  const page = await confirmationPage(alice, dressed);
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.html, /evil/);
  const post = await submit(
    alice,
    authorize(),
    { ...page.fields, decision: 'allow', redirect_uri: 'https://evil.example/' },
    world.publicURL,
  );
  assert.equal(post.status, 303);
  const location = post.headers.get('location') ?? '';
  const m = /^http:\/\/127\.0\.0\.1:43210\/callback\?code=([A-Za-z0-9_-]{43})&state=([A-Za-z0-9_-]+)$/.exec(
    location,
  );
  assert.ok(m, location);
  assert.equal(m[2], attempt.state);
  assert.equal((await redeem(m[1], attempt.verifier)).status, 200);
});

test('a port that is not a plain unprivileged number is refused, on the page and on the POST', async () => {
  const attempt = loopbackAttempt(world.publicURL, 43_211);
  for (const port of [
    '80',
    '0',
    '65536',
    '8080@evil.example',
    '8080/evil',
    'evil.example:8080',
    '-1',
    '8080.1',
    '%38080',
    '',
  ]) {
    const url = attempt.url.replace('port=43211', `port=${encodeURIComponent(port)}`);
    const res = await alice.request(url);
    assert.equal(res.status, 400, `port ${JSON.stringify(port)}`);
    assert.equal(res.headers.get('location'), null);
    assert.doesNotMatch(await res.text(), /evil/);
  }
  const { fields } = await confirmationPage(alice, attempt.url);
  const tampered = await submit(
    alice,
    authorize(),
    { ...fields, port: '43211@evil.example', decision: 'allow' },
    world.publicURL,
  );
  assert.equal(tampered.status, 400);
  assert.equal(tampered.headers.get('location'), null);
});

test('only S256 with a well-formed challenge and state starts a sign-in', async () => {
  const attempt = loopbackAttempt(world.publicURL);
  const variants = [
    attempt.url.replace('code_challenge_method=S256', 'code_challenge_method=plain'),
    attempt.url.replace(/&code_challenge=[^&]+/, ''),
    attempt.url.replace(/&state=[^&]+/, ''),
    attempt.url.replace(/code_challenge=[^&]+/, 'code_challenge=short'),
  ];
  for (const url of variants) assert.equal((await alice.request(url)).status, 400, url);
});

test('confirming is a POST from the gateway’s own page with this session’s token for this very request', async () => {
  const attempt = loopbackAttempt(world.publicURL, 43_212);
  const { fields } = await confirmationPage(alice, attempt.url);
  const { form_token: _t, ...noToken } = fields;
  const refusals: [string, Record<string, string>, string | undefined][] = [
    ['no form token', { ...noToken, decision: 'allow' }, world.publicURL],
    ['another site', { ...fields, decision: 'allow' }, 'https://evil.example'],
    ['a routed sibling', { ...fields, decision: 'allow' }, 'http://app.127.0.0.1.nip.io'],
    // The token was issued for port 43212: it does not sign another port or challenge.
    ['another port', { ...fields, port: '43213', decision: 'allow' }, world.publicURL],
    ['another state', { ...fields, state: 'x'.repeat(20), decision: 'allow' }, world.publicURL],
  ];
  for (const [why, body, origin] of refusals) {
    const res = await submit(alice, authorize(), body, origin!);
    assert.equal(res.status, 403, why);
    assert.equal(res.headers.get('location'), null, why);
  }
  // No Origin, no Sec-Fetch-Site, no Referer: nothing proves the form is ours.
  const bare = await alice.request(authorize(), {
    method: 'POST',
    body: new URLSearchParams({ ...fields, decision: 'allow' }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(bare.status, 403);
  // Bob cannot press Alice's button: her token is bound to her session.
  const bob = new FetchBrowser();
  await bob.signIn(`${world.publicURL}/`, 'bob');
  assert.equal(
    (await submit(bob, authorize(), { ...fields, decision: 'allow' }, world.publicURL)).status,
    403,
  );
});

test('without a browser session: the page sends you to sign in and back; a POST is refused; a bearer token confirms nothing', async () => {
  const attempt = loopbackAttempt(world.publicURL);
  const stranger = new FetchBrowser();
  const res = await stranger.request(attempt.url);
  assert.equal(res.status, 302);
  const location = res.headers.get('location') ?? '';
  assert.ok(location.startsWith('/auth/login?rd=%2Fauth%2Fcli%2Fauthorize%3F'), location);
  const { fields } = await confirmationPage(alice, attempt.url);
  assert.equal(
    (await submit(stranger, authorize(), { ...fields, decision: 'allow' }, world.publicURL)).status,
    401,
  );

  const { tokens } = await protocolLogin(world, 'alice');
  // A tab's navigation (FetchBrowser's), so that only the credential is in question.
  const withToken = await new FetchBrowser().request(attempt.url, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  assert.equal(withToken.status, 302, 'a CLI token is not a browser session');
});

test('a code is redeemed once, within a minute, and only with its verifier', async () => {
  const codeFor = async (attempt = loopbackAttempt(world.publicURL)) => {
    const { fields } = await confirmationPage(alice, attempt.url);
    const post = await submit(alice, authorize(), { ...fields, decision: 'allow' }, world.publicURL);
    return { attempt, code: new URL(post.headers.get('location')!).searchParams.get('code')! };
  };
  const once = await codeFor();
  assert.equal((await redeem(once.code, once.attempt.verifier)).status, 200);
  const twice = await redeem(once.code, once.attempt.verifier);
  assert.equal(twice.body.error, 'invalid_grant');

  // A code that reached someone without the verifier is spent by their attempt.
  const stolen = await codeFor();
  const wrong = await redeem(stolen.code, loopbackAttempt(world.publicURL).verifier);
  assert.equal(wrong.body.error, 'invalid_grant');
  assert.equal((await redeem(stolen.code, stolen.attempt.verifier)).body.error, 'invalid_grant');

  const late = await codeFor();
  world.clock.advance(60_001);
  assert.equal((await redeem(late.code, late.attempt.verifier)).body.error, 'invalid_grant');
});

test('a confirmation form decides once: posted again (a double click) it answers the same code, and makes no second one', async () => {
  const attempt = loopbackAttempt(world.publicURL, 43_214);
  const { fields } = await confirmationPage(alice, attempt.url);
  const first = await submit(alice, authorize(), { ...fields, decision: 'allow' }, world.publicURL);
  assert.equal(first.status, 303);
  const location = first.headers.get('location')!;
  const code = new URL(location).searchParams.get('code')!;
  // A double click: the browser follows the second answer, so it must carry the terminal on too.
  const second = await submit(alice, authorize(), { ...fields, decision: 'allow' }, world.publicURL);
  assert.equal(second.status, 303, 'the same form again');
  assert.equal(second.headers.get('location'), location, 'the same redirect, the same code');
  // Cancel clicked after Continue: the answer the browser follows is the last one, and says no.
  const cancel = await submit(alice, authorize(), { ...fields, decision: 'deny' }, world.publicURL);
  assert.equal(cancel.status, 303);
  assert.equal(new URL(cancel.headers.get('location')!).searchParams.get('error'), 'access_denied');
  const token = fields.form_token;
  for (const [why, form_token] of [
    ['its token with a leading zero', `0${token}`],
    ['its token with more after it', `${token}.x`],
  ]) {
    const res = await submit(
      alice,
      authorize(),
      { ...fields, form_token, decision: 'allow' },
      world.publicURL,
    );
    assert.equal(res.status, 403, why);
    assert.equal(res.headers.get('location'), null, why);
  }
  // The one code it made signs the terminal in once; answering it again made no second.
  assert.equal((await redeem(code, attempt.verifier)).status, 200);
  assert.equal((await redeem(code, attempt.verifier)).status, 400, 'spent');
});

test('every login attempt makes its own listener, challenge and state, and writes nothing before it succeeds', async () => {
  const home = world.configHome();
  const one = world.cli(['login', world.publicURL], { XDG_CONFIG_HOME: home });
  const two = world.cli(['login', world.publicURL], { XDG_CONFIG_HOME: home });
  const [a, b] = await Promise.all([one.waitFor(LOGIN_URL), two.waitFor(LOGIN_URL)]);
  const [qa, qb] = [new URL(a[1]).searchParams, new URL(b[1]).searchParams];
  for (const key of ['port', 'code_challenge', 'state']) assert.notEqual(qa.get(key), qb.get(key), key);
  assert.equal(existsSync(join(home, 'kube-bastion')), false, 'no secret of an attempt is written anywhere');
  await Promise.all([one.stop(), two.stop()]);
});

test('the portal tells a signed-in person the one command to sign in from a terminal', async () => {
  const html = await (await alice.get(`${world.publicURL}/`)).text();
  assert.match(html, /Sign in from a terminal/);
  assert.match(html, new RegExp(`<code>kube-bastion login ${world.publicURL}</code>`));
});
