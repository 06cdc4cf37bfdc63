/**
 * Attack classes against terminal sign-in found by review (rev-terminal),
 * each reproduced end to end against a real gateway: the state one signed-in
 * person can make the gateway keep for them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FetchBrowser } from '../support/fetch-browser.js';
import { hiddenFields, loopbackAttempt, postForm, startWorld, submit, type World } from './world.js';

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

  const cliSecrets = (kind: string) =>
    world.api!.list('secrets').filter((s) => s.metadata?.labels?.['kube-bastion.io/cli-state'] === kind);

  test('a burst of terminal sign-ins from one person is bounded: not one Secret per POST, kept for hours', async () => {
    const BURST = 60;
    const attempt = loopbackAttempt(world.publicURL);
    // One confirmation page, one click's worth of form...
    const fields = hiddenFields(await (await bob.get(attempt.url)).text());
    let confirmed = 0;
    let signedIn = 0;
    for (let i = 0; i < BURST; i++) {
      // ...posted again and again: each POST is a new one-time code (a Secret)...
      const post = await submit(
        bob,
        `${world.publicURL}/auth/cli/authorize`,
        { ...fields, decision: 'allow' },
        world.publicURL,
      );
      const code = new URL(post.headers.get('location') ?? 'missing:').searchParams.get('code');
      if (post.status !== 303 || !code) continue;
      confirmed++;
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
      confirmed <= 20 && signedIn <= 20 && families <= 20,
      `one person, one confirmation page: ${confirmed} codes issued, ${signedIn} terminal sign-ins started, ` +
        `${families} family Secrets kept in the gateway's namespace an hour later (no per-person limit)`,
    );
  });
});
