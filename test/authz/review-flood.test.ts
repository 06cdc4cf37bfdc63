/**
 * One caller cannot make the gateway flood the API server with
 * SubjectAccessReviews, nor use it to starve everyone else's: every request
 * naming something new needs a review, and each used to go out at once, with
 * no bound — the API server then throttles the gateway's ServiceAccount, and
 * every caller's review fails closed. Against the fake API server over HTTPS,
 * holding the reviews it is sent.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAuthorizer, requestAttributes, type GatewayAuthorizer } from '../../src/authz/index.js';
import { MAX_REVIEWS_PER_USER } from '../../src/authz/review-limit.js';
import { parseConfig } from '../../src/config/load.js';
import { GatewayError } from '../../src/errors.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { Identity } from '../../src/request/identity.js';
import { parseProxyPath } from '../../src/request/proxy-path.js';
import { eventually } from '../support/eventually.js';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.js';

const user = (username: string): Identity => ({
  username,
  groups: ['system:authenticated'],
  extra: {},
  method: 'jwt',
});
const mallory = user('mallory');
const alice = user('alice');

let api: FakeApiServer;
before(async () => {
  api = await startFakeApiServer({
    grants: [
      { name: 'alice', user: 'alice', namespace: 'team-a', resource: 'services/proxy', verbs: ['get'] },
    ],
  });
});
after(async () => {
  await api.stop();
});

function authorizer(reviewTimeoutMs?: number): GatewayAuthorizer {
  const config = parseConfig({ authorization: { kubernetesRBAC: { enabled: true } } });
  return createAuthorizer(config, { kubeConfig: api.kubeConfig(), logger: silentLogger(), reviewTimeoutMs });
}
const ask = (authz: GatewayAuthorizer, who: Identity, name: string) =>
  Promise.resolve().then(() =>
    authz.authorize(
      requestAttributes(
        'GET',
        parseProxyPath(`/api/v1/namespaces/team-a/services/${name}/proxy/`)!,
        who,
        false,
      ),
    ),
  );
const status = (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (err: unknown) => (err instanceof GatewayError ? err.status : 500),
  );

test('one caller naming 200 new Services at once: a bounded share reaches the API server, the rest get a 429 at once', async () => {
  const authz = authorizer();
  const hold = api.hold({ resource: 'subjectaccessreviews' });
  try {
    const flood = Array.from({ length: 200 }, (_, i) => status(ask(authz, mallory, `n${i}`)));
    // Those past the bound are refused without waiting for the API server.
    await eventually(() => hold.waiting() === MAX_REVIEWS_PER_USER);
    const alices = ask(authz, alice, 'web');
    await eventually(() => hold.waiting() === MAX_REVIEWS_PER_USER + 1); // alice's is sent all the same
    hold.release();
    const statuses = await Promise.all(flood);
    assert.equal(statuses.filter((s) => s === 429).length, 200 - MAX_REVIEWS_PER_USER);
    assert.equal((await alices).allowed, true);
    assert.ok(hold.most() <= MAX_REVIEWS_PER_USER + 1, `${hold.most()} reviews were held at once`);
    // Once answered, the caller is reviewed again (a refusal is not remembered).
    assert.equal(await status(ask(authz, mallory, 'later')), 200);
  } finally {
    hold.release();
  }
});

test('a review the API server does not answer in time is abandoned there too (no socket left waiting)', async () => {
  const authz = authorizer(100);
  const hold = api.hold({ resource: 'subjectaccessreviews' });
  try {
    assert.equal(await status(ask(authz, alice, 'stalled')), 503);
    await eventually(() => hold.waiting() === 0);
    // And its place is free again: the caller is not locked out by reviews that timed out.
    const again = Array.from({ length: MAX_REVIEWS_PER_USER }, (_, i) => status(ask(authz, alice, `s${i}`)));
    assert.deepEqual(new Set(await Promise.all(again)), new Set([503]));
  } finally {
    hold.release();
  }
});
