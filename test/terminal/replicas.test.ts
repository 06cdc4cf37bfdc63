/**
 * Terminal sign-in across two gateway replicas, as the chart runs it (cookie
 * sessions, state in Secrets of the gateway's namespace) and with Redis: a
 * flow begun on one replica finishes on the other, a confirmation form spent
 * on one is spent on both, a refresh-token replay on one revokes the family
 * on both, a logout on one closes a WebSocket held open on the other — and
 * the Secrets hold nothing anyone could sign in with.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../support/eventually.js';
import { FetchBrowser } from '../support/fetch-browser.js';
import {
  ECHO_A,
  ECHO_B,
  bearerGET,
  cliWebSocket,
  hiddenFields,
  loopbackAttempt,
  postForm,
  protocolLogin,
  refresh,
  startWorld,
  submit,
  type World,
} from './world.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

describe('two replicas, state in Kubernetes Secrets', () => {
  let world: World;
  let a: string;
  let b: string;

  before(async () => {
    world = await startWorld({
      replicas: 2,
      store: 'kubernetes',
      // Bob may reach team-b by a RoleBinding (SubjectAccessReview), not by a static rule.
      grants: [
        {
          user: 'bob@example.com',
          namespace: 'team-b',
          resource: 'services',
          subresource: 'proxy',
          verbs: ['get'],
        },
      ],
    });
    [a, b] = world.replicaURLs;
  });
  after(() => world?.close());

  test('confirmed on one replica, redeemed on the other; the token works on both, through RBAC too', async () => {
    const { tokens } = await protocolLogin(world, 'bob', { page: b, confirm: a, redeem: b });
    for (const replica of [a, b]) {
      assert.equal((await bearerGET(`${replica}${ECHO_B}`, tokens.access_token)).status, 200, replica);
      assert.equal((await bearerGET(`${replica}${ECHO_A}`, tokens.access_token)).status, 403, replica);
    }
    const reviews = world.api!.requests.filter((r) => r.resource === 'subjectaccessreviews');
    assert.ok(reviews.length > 0, 'RBAC was asked');
  });

  test('a confirmation form posted on one replica is spent on the other too: posted again it answers the same code', async () => {
    const attempt = loopbackAttempt(world.publicURL);
    const person = new FetchBrowser();
    const fields = hiddenFields(await (await person.signIn(attempt.url, 'alice')).text());
    const post = (at: string) =>
      submit(person, `${at}/auth/cli/authorize`, { ...fields, decision: 'allow' }, world.publicURL);
    const first = await post(a);
    assert.equal(first.status, 303);
    const again = await post(b);
    assert.equal(again.status, 303);
    assert.equal(again.headers.get('location'), first.headers.get('location'), 'the same code, not a second');
    const code = new URL(first.headers.get('location')!).searchParams.get('code')!;
    const redeem = () =>
      postForm(`${b}/auth/cli/token`, {
        grant_type: 'authorization_code',
        code,
        code_verifier: attempt.verifier,
      });
    assert.equal((await redeem()).status, 200);
    assert.equal((await redeem()).status, 400, 'one code, redeemed once');
  });

  test('a device code started on one replica is confirmed on the other and redeemed on the first', async () => {
    const start = await postForm(`${a}/auth/cli/device`, { client_name: 'jump-box' });
    const grant = start.body as { device_code: string; user_code: string };
    const person = new FetchBrowser();
    const page = await person.signIn(`${b}/auth/device?user_code=${grant.user_code}`, 'alice');
    const html = await page.text();
    assert.match(html, /jump-box/);
    const decided = await submit(
      person,
      `${b}/auth/device`,
      { ...hiddenFields(html), decision: 'allow' },
      world.publicURL,
    );
    assert.equal(decided.status, 200);
    const tokens = await postForm(`${a}/auth/cli/token`, {
      grant_type: DEVICE_GRANT,
      device_code: grant.device_code,
    });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal((tokens.body.identity as { username: string }).username, 'alice@example.com');
  });

  test('a replay on one replica revokes the family on the other; a WebSocket there closes', async () => {
    const { tokens } = await protocolLogin(world, 'alice');
    const socket = await cliWebSocket(world, b, `${ECHO_A}ws`, tokens.access_token);

    const rotated = await refresh(a, tokens.refresh_token);
    assert.equal(rotated.status, 200);
    const replay = await refresh(b, tokens.refresh_token);
    assert.equal(replay.body.error, 'invalid_grant');
    // Replica A learns of the revocation made on B through its watch of the Secrets.
    await eventually(
      async () => (await bearerGET(`${a}${ECHO_A}`, String(rotated.body.access_token))).status === 401,
      10_000,
    );
    assert.equal(await socket.closeCode(), 1008);
  });

  test('the Secrets hold digests and identities, never a code or token that works', async () => {
    const { tokens } = await protocolLogin(world, 'alice');
    const start = await postForm(`${a}/auth/cli/device`, { client_name: 'box' });
    const grant = start.body as { device_code: string; user_code: string };
    const stored = JSON.stringify(
      world.api!.list('secrets').map((s) => ({
        ...s,
        data: Object.fromEntries(
          Object.entries((s as { data?: Record<string, string> }).data ?? {}).map(([k, v]) => [
            k,
            Buffer.from(v, 'base64').toString(),
          ]),
        ),
      })),
    );
    assert.match(stored, /kb-cli-family-/);
    for (const secret of [
      tokens.refresh_token,
      tokens.access_token,
      grant.device_code,
      grant.user_code,
      grant.user_code.replace('-', ''),
    ])
      assert.ok(!stored.includes(secret), `${secret.slice(0, 12)}… is not stored`);
  });
});

describe('two replicas, state in Redis', () => {
  let world: World;

  before(async () => {
    world = await startWorld({ replicas: 2, store: 'redis' });
  });
  after(() => world?.close());

  test('login across replicas; a logout on one stops the token on the other within a second', async () => {
    const [a, b] = world.replicaURLs;
    const { tokens } = await protocolLogin(world, 'alice', { page: a, confirm: b, redeem: a });
    const rotated = await refresh(b, tokens.refresh_token);
    assert.equal(rotated.status, 200);
    const token = String(rotated.body.access_token);
    assert.equal((await bearerGET(`${a}${ECHO_A}`, token)).status, 200);
    assert.equal(
      (await postForm(`${b}/auth/cli/revoke`, { token: String(rotated.body.refresh_token) })).status,
      200,
    );
    world.clock.advance(1_001); // replica A may have remembered "alive" for a second
    assert.equal((await bearerGET(`${a}${ECHO_A}`, token)).status, 401);
  });
});
