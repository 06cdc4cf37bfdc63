/**
 * Attack classes against terminal sign-in found by review (rev-terminal),
 * each reproduced end to end against a real gateway: the state one signed-in
 * person can make the gateway keep for them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TokenResponse } from '../../src/authn/terminal/protocol.js';
import { MAX_SIGN_INS_PER_PERSON } from '../../src/authn/terminal/sign-ins-per-person.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import {
  ECHO_A,
  bearerGET,
  cliWebSocket,
  hiddenFields,
  loopbackAttempt,
  postForm,
  refresh,
  startWorld,
  submit,
  type World,
} from './world.js';

describe('one signed-in person and the shared store (state in Kubernetes Secrets)', () => {
  let world: World;
  let bob: FetchBrowser;

  before(async () => {
    world = await startWorld({ store: 'kubernetes' });
    bob = new FetchBrowser();
    // Anyone the IdP admits: bob has no grant to any namespace in this world.
    await bob.signIn(`${world.publicURL}/`, 'bob');
  });
  after(() => world?.close());

  const cliSecrets = (kind: string, user?: string) =>
    world
      .api!.list('secrets')
      .filter((s) => s.metadata?.labels?.['kube-bastion.io/cli-state'] === kind)
      .filter((s) => {
        const data = (s as { data?: { record?: string } }).data?.record ?? '';
        return !user || Buffer.from(data, 'base64').toString().includes(`"username":"${user}"`);
      });

  /** What `kube-bastion login` and a click on Continue make: a fresh page, its form, the code redeemed. */
  async function terminalSignIn(person: FetchBrowser): Promise<TokenResponse> {
    const attempt = loopbackAttempt(world.publicURL);
    const fields = hiddenFields(await (await person.get(attempt.url)).text());
    const post = await submit(
      person,
      `${world.publicURL}/auth/cli/authorize`,
      { ...fields, decision: 'allow' },
      world.publicURL,
    );
    const code = new URL(post.headers.get('location') ?? 'missing:').searchParams.get('code') ?? '';
    const redeemed = await postForm(`${world.publicURL}/auth/cli/token`, {
      grant_type: 'authorization_code',
      code,
      code_verifier: attempt.verifier,
    });
    assert.equal(redeemed.status, 200, JSON.stringify(redeemed.body));
    return redeemed.body as unknown as TokenResponse;
  }

  test('a burst of terminal sign-ins from one person is bounded: not one Secret per POST, kept for hours', async () => {
    const BURST = 60;
    const attempt = loopbackAttempt(world.publicURL);
    // One confirmation page, one click's worth of form...
    const fields = hiddenFields(await (await bob.get(attempt.url)).text());
    const codes = new Set<string>();
    let signedIn = 0;
    for (let i = 0; i < BURST; i++) {
      // ...posted again and again: each POST was a new one-time code (a Secret); now the same one...
      const post = await submit(
        bob,
        `${world.publicURL}/auth/cli/authorize`,
        { ...fields, decision: 'allow' },
        world.publicURL,
      );
      const code = new URL(post.headers.get('location') ?? 'missing:').searchParams.get('code');
      if (post.status !== 303 || !code) continue;
      codes.add(code);
      // ...and each code, redeemed with the one verifier, a token family (a Secret for up to session.ttl).
      const redeemed = await postForm(`${world.publicURL}/auth/cli/token`, {
        grant_type: 'authorization_code',
        code,
        code_verifier: attempt.verifier,
      });
      if (redeemed.status === 200) signedIn++;
    }
    // An hour later (every code long expired) the families are all still there.
    world.clock.advance(60 * 60_000);
    const families = cliSecrets('family').length;
    assert.ok(
      codes.size === 1 && signedIn === 1 && families <= MAX_SIGN_INS_PER_PERSON,
      `one person, one confirmation page: ${codes.size} codes issued, ${signedIn} terminal sign-ins started, ` +
        `${families} family Secrets kept in the gateway's namespace an hour later (no per-person limit)`,
    );
  });

  test(`with fresh pages too: ${MAX_SIGN_INS_PER_PERSON} live sign-ins per person; the next ends the oldest, its tunnels and tokens with it`, async () => {
    const alice = new FetchBrowser();
    await alice.signIn(`${world.publicURL}/`, 'alice');
    const bobs = await terminalSignIn(bob);
    const first = await terminalSignIn(alice);
    const socket = await cliWebSocket(world, world.publicURL, `${ECHO_A}ws`, first.access_token);
    const rest: TokenResponse[] = [];
    for (let i = 0; i < MAX_SIGN_INS_PER_PERSON; i++) rest.push(await terminalSignIn(alice));

    assert.equal(cliSecrets('family', 'alice@example.com').length, MAX_SIGN_INS_PER_PERSON);
    const renewed = await refresh(world.publicURL, first.refresh_token);
    assert.equal(renewed.body.error, 'invalid_grant');
    assert.match(String(renewed.body.error_description), /newer ones.*run `kube-bastion login` again/);
    const refused = await bearerGET(`${world.publicURL}${ECHO_A}`, first.access_token);
    assert.equal(refused.status, 401);
    assert.match(((await refused.json()) as { message: string }).message, /revoked or has ended/);
    assert.equal(await socket.closeCode(), 1008);
    // Her next-oldest and newest still work; Bob's one sign-in is his own business.
    assert.equal((await bearerGET(`${world.publicURL}${ECHO_A}`, rest[0].access_token)).status, 200);
    assert.equal((await refresh(world.publicURL, rest.at(-1)!.refresh_token)).status, 200);
    assert.equal((await bearerGET(`${world.publicURL}/auth/whoami`, bobs.access_token)).status, 200);
    assert.equal((await refresh(world.publicURL, bobs.refresh_token)).status, 200);
  });
});
