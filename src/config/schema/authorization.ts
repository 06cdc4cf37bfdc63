/** What a caller may reach: the namespace fence, static rules, the cluster's RBAC, node proxying. */
import { z } from 'zod';
import { describe, duration, glob } from './primitives.js';

// --- authorization ------------------------------------------------------------

const verb = z.enum(['get', 'create', 'update', 'patch', 'delete', '*']);
const resource = z.enum(['services', 'pods', 'nodes', '*']);
const subresource = z.enum(['proxy', 'portforward', '*']);

const rule = z.strictObject({
  users: describe(
    z.array(glob).optional(),
    'usernames the rule applies to (globs); with neither users nor groups, every signed-in user',
  ),
  groups: describe(
    z.array(glob).optional(),
    'groups the rule applies to (globs); one matching group is enough',
  ),
  namespaces: describe(z.array(glob).min(1), 'namespaces the rule covers (globs); nodes match only `*`'),
  resources: describe(
    z.array(resource).min(1),
    'what may be reached: `services`, `pods`, `nodes`; `*` means services and pods (nodes must be named)',
  ),
  names: describe(
    z.array(glob).optional(),
    'raw name segments as RBAC resourceNames see them, e.g. `web:http`',
  ),
  verbs: describe(
    z.array(verb).min(1),
    'GET/HEAD: get, POST: create, PUT: update, PATCH: patch, DELETE: delete; WebSocket upgrades and TCP tunnels need create; `*`: all methods',
  ),
  subresources: describe(
    z.array(subresource).min(1).default(['proxy']),
    'what the rule opens: `proxy` (HTTP and WebSockets, the default), `portforward` (TCP tunnels, with `tunnels.enabled`; verb create; `names` then match the Service or Pod name without a port), `*` both. A rule that does not name `portforward` never opens a tunnel',
  ),
});

export const authorization = z.strictObject({
  namespaces: describe(
    z
      .strictObject({
        allow: describe(z.array(glob).default(['*']), 'namespaces that may be reached at all (globs)'),
        deny: describe(
          z.array(glob).default(['kube-system']),
          'namespaces never reached, even when allowed (globs); setting it replaces the default, so keep kube-system (check-config and serve warn when it is left inside the fence)',
        ),
      })
      .prefault({}),
    'the namespace fence, checked before any rule or RBAC; nodes are outside it',
    [{ allow: ['team-*', 'shared'], deny: ['kube-system', 'team-secret'] }],
  ),
  rules: describe(
    z.array(rule).default([]),
    'static grants: a request is allowed when any rule matches all its fields',
    [
      [
        { groups: ['oidc:sre'], namespaces: ['*'], resources: ['*'], verbs: ['*'] },
        { groups: ['oidc:team-a'], namespaces: ['team-a'], resources: ['services'], verbs: ['get'] },
        {
          groups: ['oidc:dba'],
          namespaces: ['team-a'],
          resources: ['services', 'pods'],
          names: ['postgres', 'postgres-*'],
          verbs: ['create'],
          subresources: ['portforward'],
        },
        {
          users: ['github:repo:example-org/deploy:*'],
          namespaces: ['staging'],
          resources: ['services'],
          names: ['api:http'],
          verbs: ['get', 'create'],
        },
      ],
    ],
  ),
  kubernetesRBAC: describe(
    z
      .strictObject({
        enabled: describe(
          z.boolean().default(false),
          'when no rule allows, ask the cluster’s RBAC (SubjectAccessReview on `<resource>/proxy`, or `<resource>/portforward` for a tunnel); needs a cluster',
        ),
        cacheTTL: describe(duration('5m'), 'how long an allowed SubjectAccessReview answer is reused'),
        deniedCacheTTL: describe(duration('30s'), 'how long a denied answer is reused'),
      })
      .prefault({}),
    'the cluster’s RBAC, asked when no static rule allows: grant e.g. `get` on `services/proxy` with a RoleBinding (`create` on `pods/portforward` or `services/portforward` for tunnels)',
    [{ enabled: true, cacheTTL: '1m', deniedCacheTTL: '10s' }],
  ),
  nodeProxy: describe(
    z.boolean().default(false),
    'allow /api/v1/nodes/... (reaches the kubelet API; `get` there allows exec on the node)',
  ),
});
