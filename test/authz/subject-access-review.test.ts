/**
 * Kubernetes RBAC through SubjectAccessReview, against the fake API server
 * with RoleBinding-like grants: per-namespace access, caching with separate
 * allowed/denied TTLs, collapsed concurrent reviews, and failing closed.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import type { Identity } from '../../src/request/identity.js';
import {
  createAuthorizer,
  forbiddenError,
  requestAttributes,
  type GatewayAuthorizer,
} from '../../src/authz/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { GatewayError } from '../../src/errors.js';
import { silentLogger } from '../../src/observability/logger.js';
import { parseProxyPath } from '../../src/request/proxy-path.js';
import { configProblems } from '../support/config-problems.js';
import { startFakeApiServer, type AccessGrant, type FakeApiServer } from '../support/fake-apiserver.js';

const alice: Identity = {
  username: 'alice',
  groups: ['devs', 'system:authenticated'],
  extra: {},
  method: 'session',
};
const bob: Identity = { username: 'bob', groups: ['system:authenticated'], extra: {}, method: 'jwt' };

const GRANTS: AccessGrant[] = [
  // A RoleBinding in team-a: group devs may get/create services/proxy there.
  {
    name: 'devs-proxy',
    group: 'devs',
    namespace: 'team-a',
    resource: 'services/proxy',
    verbs: ['get', 'create'],
  },
  // A RoleBinding in shop: bob may get one port of one service.
  {
    name: 'bob-web',
    user: 'bob',
    namespace: 'shop',
    resource: 'services/proxy',
    verbs: ['get'],
    resourceNames: ['web:http'],
  },
  // Someone bound something in kube-system; the fence must still win.
  { name: 'oops', group: 'devs', namespace: 'kube-system', resource: '*', verbs: ['*'] },
  // A ClusterRoleBinding for node proxy.
  { name: 'node-readers', user: 'bob', resource: 'nodes/proxy', verbs: ['get'] },
];

let api: FakeApiServer;
let clock = 0;
const authorizers: GatewayAuthorizer[] = [];

before(async () => {
  api = await startFakeApiServer({ grants: GRANTS });
});
after(async () => {
  for (const a of authorizers) a.close();
  await api.stop();
});
beforeEach(async () => {
  api.grants.splice(0, api.grants.length, ...GRANTS);
  api.latencyMs = 0;
  await api.restart();
});

function authorizer(
  authorization: ConfigInput['authorization'] = {},
  reviewTimeoutMs?: number,
): GatewayAuthorizer {
  const config = parseConfig({ authorization: { kubernetesRBAC: { enabled: true }, ...authorization } });
  const a = createAuthorizer(config, {
    kubeConfig: api.kubeConfig(),
    logger: silentLogger(),
    now: () => clock,
    reviewTimeoutMs,
  });
  authorizers.push(a);
  return a;
}

const attrs = (method: string, url: string, who: Identity, upgrade = false) =>
  requestAttributes(method, parseProxyPath(url)!, who, upgrade);
const svc = (ns: string, seg: string) => `/api/v1/namespaces/${ns}/services/${seg}/proxy/`;
const reviews = () => api.count({ resource: 'subjectaccessreviews' });

test('an ordinary RoleBinding grants proxy access in its namespace only', async () => {
  const authz = authorizer();
  const ok = await authz.authorize(attrs('GET', svc('team-a', 'web'), alice));
  assert.deepEqual(ok, {
    allowed: true,
    by: 'kubernetes-rbac',
    reason: 'RBAC: allowed by RoleBinding "devs-proxy/team-a" to Group "devs"',
  });
  assert.equal(
    (await authz.authorize(attrs('POST', svc('team-a', 'web'), alice))).allowed,
    true,
    'create granted',
  );
  assert.equal(
    (await authz.authorize(attrs('GET', svc('team-a', 'web'), alice, true))).allowed,
    true,
    'upgrade is create',
  );
  assert.equal(
    (await authz.authorize(attrs('DELETE', svc('team-a', 'web'), alice))).allowed,
    false,
    'delete not granted',
  );
  const other = await authz.authorize(attrs('GET', svc('team-b', 'web'), alice));
  assert.deepEqual(other, { allowed: false, by: 'kubernetes-rbac' });
  assert.equal(
    forbiddenError(attrs('GET', svc('team-b', 'web'), alice), other).message,
    'services "web" is forbidden: User "alice" cannot get resource "services/proxy" in API group "" in the namespace "team-b"',
  );
});

test('resourceNames see the raw segment; get-only bindings do not allow upgrades', async () => {
  const authz = authorizer();
  assert.equal((await authz.authorize(attrs('GET', svc('shop', 'web:http'), bob))).allowed, true);
  assert.equal((await authz.authorize(attrs('GET', svc('shop', 'web'), bob))).allowed, false);
  assert.equal((await authz.authorize(attrs('GET', svc('shop', 'web:8080'), bob))).allowed, false);
  assert.equal((await authz.authorize(attrs('GET', svc('shop', 'web:http'), bob, true))).allowed, false);
});

test('static rules answer without a review; the fence and the node switch beat any binding', async () => {
  const authz = authorizer({
    rules: [{ users: ['bob'], namespaces: ['public'], resources: ['services'], verbs: ['get'] }],
  });
  const before = reviews();
  assert.deepEqual(await authz.authorize(attrs('GET', svc('public', 'status'), bob)), {
    allowed: true,
    by: 'rule[0]',
  });
  const fenced = await authz.authorize(
    attrs('GET', '/api/v1/namespaces/kube-system/pods/etcd-0/proxy/', alice),
  );
  assert.equal(fenced.by, 'namespace-fence');
  const nodes = await authz.authorize(attrs('GET', '/api/v1/nodes/node-1:10250/proxy/pods', bob));
  assert.equal(nodes.by, 'node-proxy-disabled');
  assert.equal(reviews(), before, 'no SubjectAccessReview was needed');

  const withNodes = authorizer({ nodeProxy: true });
  const node = await withNodes.authorize(attrs('GET', '/api/v1/nodes/node-1:10250/proxy/pods', bob));
  assert.equal(node.allowed, true, 'ClusterRoleBinding for nodes/proxy');
  const exec = attrs('GET', '/api/v1/nodes/node-1:10250/proxy/exec', bob, true);
  const denied = await withNodes.authorize(exec);
  assert.equal(denied.allowed, false, 'exec through the kubelet needs create');
  assert.match(
    forbiddenError(exec, denied).message,
    /cannot create resource "nodes\/proxy" in API group "" at the cluster scope$/,
  );
});

test('answers are cached: allowed for cacheTTL, denied for deniedCacheTTL', async () => {
  const authz = authorizer({ kubernetesRBAC: { enabled: true, cacheTTL: '5m', deniedCacheTTL: '30s' } });
  clock = 1_000_000;
  const get = attrs('GET', svc('team-a', 'web'), alice);
  const del = attrs('DELETE', svc('team-a', 'web'), alice);
  const start = reviews();
  assert.equal((await authz.authorize(get)).allowed, true);
  assert.equal((await authz.authorize(del)).allowed, false);
  assert.equal(reviews() - start, 2, 'two misses');
  // The binding changes in the cluster: revoke get, grant delete.
  api.grants.splice(0, api.grants.length, {
    group: 'devs',
    namespace: 'team-a',
    resource: 'services/proxy',
    verbs: ['delete'],
  });
  clock += 29_000;
  assert.equal((await authz.authorize(get)).allowed, true, 'allowed answer still cached');
  assert.equal((await authz.authorize(del)).allowed, false, 'denied answer still cached');
  assert.equal(reviews() - start, 2, 'two hits');
  clock += 2_000; // 31 s: the denial expired, the allow did not
  assert.equal((await authz.authorize(del)).allowed, true, 'denial re-reviewed after 30 s');
  assert.equal((await authz.authorize(get)).allowed, true, 'allow still cached at 31 s');
  assert.equal(reviews() - start, 3);
  clock += 5 * 60_000;
  assert.equal((await authz.authorize(get)).allowed, false, 'revocation seen after 5 m');
  assert.equal(reviews() - start, 4);
  // Different groups are a different subject: never served from another's answer.
  assert.equal(
    (await authz.authorize(attrs('GET', svc('team-a', 'web'), { ...alice, groups: ['ops'] }))).allowed,
    false,
  );
  assert.equal(reviews() - start, 5);
});

test('concurrent identical reviews are collapsed into one', async () => {
  const authz = authorizer();
  api.latencyMs = 50;
  clock += 3_600_000;
  const start = reviews();
  const answers = await Promise.all(
    Array.from({ length: 25 }, async () => authz.authorize(attrs('GET', svc('team-a', 'api'), alice))),
  );
  assert.ok(answers.every((a) => a.allowed));
  assert.equal(reviews() - start, 1);
  assert.equal(authz.reviewsSent, 1);
});

test('with the API server failing or gone, cached answers hold until they expire, then 503 — never an allow', async () => {
  const authz = authorizer({ kubernetesRBAC: { enabled: true, cacheTTL: '1m', deniedCacheTTL: '10s' } });
  clock += 3_600_000;
  const get = attrs('GET', svc('team-a', 'web'), alice);
  assert.equal((await authz.authorize(get)).allowed, true);

  api.failRequests({ resource: 'subjectaccessreviews' }, 500, 1);
  assert.equal((await authz.authorize(get)).allowed, true, 'cached allow within the TTL');
  const uncached = attrs('POST', svc('team-a', 'other'), alice);
  await assert.rejects(
    async () => authz.authorize(uncached),
    (err: unknown) => err instanceof GatewayError && err.status === 503,
  );

  await api.stop();
  clock += 61_000;
  await assert.rejects(async () => authz.authorize(get), (err: unknown) => {
    assert.ok(err instanceof GatewayError);
    assert.equal(err.status, 503);
    assert.equal(err.reason, 'ServiceUnavailable');
    return true;
  });
  // A failure is not cached: once the API server is back, the next request is reviewed again.
  await api.restart();
  assert.equal((await authz.authorize(get)).allowed, true);
});

test('an API server that does not answer in time fails closed with 503', async () => {
  const authz = authorizer({}, 100);
  clock += 3_600_000;
  const held = api.hold({ resource: 'subjectaccessreviews' }); // the review gets no answer
  try {
    // The binding allows this, so a 503 (not an allow) shows the gateway gave up instead of waiting.
    await assert.rejects(
      async () => authz.authorize(attrs('GET', svc('team-a', 'slow'), alice)),
      (err: unknown) => err instanceof GatewayError && err.status === 503,
    );
  } finally {
    held.release();
  }
});

test('RBAC enabled without a cluster is a config error, not an open gateway', () => {
  // The one rule is the config's: the authorizer is only ever built with a cluster behind RBAC.
  assert.deepEqual(
    configProblems({ kubernetes: 'none', authorization: { kubernetesRBAC: { enabled: true } } }).map(
      (p) => p.split(':')[0],
    ),
    ['authorization.kubernetesRBAC.enabled'],
  );
});
