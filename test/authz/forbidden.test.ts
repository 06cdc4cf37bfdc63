import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Identity } from '../../src/request/identity.js';
import { forbiddenError, requestAttributes } from '../../src/authz/index.js';
import { parseProxyPath } from '../../src/request/proxy-path.js';

const alice: Identity = { username: 'alice', groups: [], extra: {}, method: 'jwt' };
const attrsFor = (method: string, url: string, who = alice, upgrade = false) =>
  requestAttributes(method, parseProxyPath(url)!, who, upgrade);

test('a denial reads exactly like the apiserver’s, as a Forbidden Status', () => {
  const err = forbiddenError(attrsFor('GET', '/api/v1/namespaces/team-a/services/web:http/proxy/'), {
    allowed: false,
    by: 'no-rule',
  });
  assert.equal(err.status, 403);
  assert.deepEqual(err.toStatus(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message:
      'services "web:http" is forbidden: User "alice" cannot get resource "services/proxy" in API group "" in the namespace "team-a"',
    reason: 'Forbidden',
    details: { name: 'web:http', kind: 'services' },
    code: 403,
  });
});

test('nodes are denied at the cluster scope; upgrades name the create verb', () => {
  const err = forbiddenError(attrsFor('GET', '/api/v1/nodes/node-1:10250/proxy/exec', alice, true), {
    allowed: false,
    by: 'kubernetes-rbac',
  });
  assert.equal(
    err.message,
    'nodes "node-1:10250" is forbidden: User "alice" cannot create resource "nodes/proxy" in API group "" at the cluster scope',
  );
});

test('an authorizer reason is appended; the empty verb shows as an empty word', () => {
  const err = forbiddenError(attrsFor('OPTIONS', '/api/v1/namespaces/kube-system/pods/coredns-0/proxy/'), {
    allowed: false,
    by: 'namespace-fence',
    reason: 'namespace "kube-system" is not open to this gateway',
  });
  assert.equal(
    err.message,
    'pods "coredns-0" is forbidden: User "alice" cannot  resource "pods/proxy" in API group "" in the namespace "kube-system": namespace "kube-system" is not open to this gateway',
  );
});

test('user names are Go-quoted and never rendered as HTML', () => {
  const mallory: Identity = { username: 'm"<script>&', groups: [], extra: {}, method: 'jwt' };
  const err = forbiddenError(attrsFor('GET', '/api/v1/namespaces/a/services/web/proxy/', mallory), {
    allowed: false,
    by: 'no-rule',
  });
  assert.equal(
    err.message,
    'services "web" is forbidden: User "m\\"&lt;script&gt;&amp;" cannot get resource "services/proxy" in API group "" in the namespace "a"',
  );
});
