/**
 * TokenReview and SubjectAccessReview, answered the way kube-apiserver does:
 * the same response shapes, the same audience rules, the same 4xx for
 * malformed requests. Identities and grants are tables the test fills in.
 */

export interface TokenIdentity {
  username: string;
  uid?: string;
  /** `system:authenticated` is added, as the apiserver's authenticator does. */
  groups?: string[];
  /** Audiences the token was issued for; default: the server's API audiences. */
  audiences?: string[];
  extra?: Record<string, string[]>;
}

/**
 * A RoleBinding-like grant. `namespace` '' (or absent) is cluster-wide, like
 * a ClusterRoleBinding. `resource` may be `services`, `services/proxy`, `*` or
 * `* /proxy`; `subresource` is an alternative way to name the subresource.
 */
export interface AccessGrant {
  /** Shown in the allow reason, like the binding name. */
  name?: string;
  user?: string;
  group?: string;
  namespace?: string;
  apiGroup?: string;
  resource: string;
  subresource?: string;
  verbs: string[];
  resourceNames?: string[];
  /** `deny` answers `denied: true` (as a webhook authorizer may); default allow. */
  effect?: 'allow' | 'deny';
}

export interface ReviewResult {
  code: number;
  body: unknown;
}

interface KubeStatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  code: number;
}

export const statusBody = (code: number, reason: string, message: string): KubeStatusBody => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

const invalid = (kind: string, message: string): ReviewResult => ({
  code: 422,
  body: statusBody(
    422,
    'Invalid',
    `${kind}.${kind === 'TokenReview' ? 'authentication' : 'authorization'}.k8s.io "" is invalid: ${message}`,
  ),
});

interface TokenReviewBody {
  spec?: { token?: string; audiences?: string[] };
}

export function reviewToken(
  body: TokenReviewBody,
  tokens: ReadonlyMap<string, TokenIdentity>,
  apiAudiences: readonly string[],
): ReviewResult {
  const spec = body.spec ?? {};
  if (!spec.token) {
    return {
      code: 400,
      body: statusBody(400, 'BadRequest', 'token is required for TokenReview in authentication'),
    };
  }
  const wanted = spec.audiences?.length ? spec.audiences : [...apiAudiences];
  const reply = (status: Record<string, unknown>): ReviewResult => ({
    code: 201,
    body: {
      kind: 'TokenReview',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec,
      status,
    },
  });
  const identity = tokens.get(spec.token);
  if (!identity) return reply({ user: {}, error: '[invalid bearer token, token lookup failed]' });
  const has = identity.audiences ?? apiAudiences;
  const overlap = wanted.filter((a) => has.includes(a));
  if (overlap.length === 0) {
    return reply({
      user: {},
      error: `[invalid bearer token, token audiences ${JSON.stringify(has)} is invalid for the target audiences ${JSON.stringify(wanted)}]`,
    });
  }
  const groups = [...(identity.groups ?? [])];
  if (!groups.includes('system:authenticated')) groups.push('system:authenticated');
  // `authenticated` is omitempty in the real API: false is simply absent.
  return reply({
    authenticated: true,
    user: { username: identity.username, uid: identity.uid, groups, extra: identity.extra },
    audiences: overlap,
  });
}

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

interface AccessReviewBody {
  spec?: {
    user?: string;
    groups?: string[];
    resourceAttributes?: ResourceAttributes;
    nonResourceAttributes?: { path?: string; verb?: string };
  };
}

const matches = (allowed: readonly string[], value: string) =>
  allowed.includes('*') || allowed.includes(value);

function grantCovers(
  grant: AccessGrant,
  user: string,
  groups: readonly string[],
  attrs: ResourceAttributes,
): boolean {
  const subject =
    (grant.user !== undefined && grant.user === user) ||
    (grant.group !== undefined && groups.includes(grant.group));
  if (!subject) return false;
  const namespace = attrs.namespace ?? '';
  if (grant.namespace && grant.namespace !== namespace) return false;
  if (!matches([grant.apiGroup ?? ''], attrs.group ?? '')) return false;
  const sub = attrs.subresource ?? '';
  const requested = sub ? `${attrs.resource ?? ''}/${sub}` : (attrs.resource ?? '');
  const granted = grant.subresource ? `${grant.resource}/${grant.subresource}` : grant.resource;
  if (granted !== '*' && granted !== requested && !(sub && granted === `*/${sub}`)) return false;
  if (!matches(grant.verbs, attrs.verb ?? '')) return false;
  if (grant.resourceNames?.length && !grant.resourceNames.includes(attrs.name ?? '')) return false;
  return true;
}

export function reviewAccess(body: AccessReviewBody, grants: readonly AccessGrant[]): ReviewResult {
  const spec = body.spec ?? {};
  const user = spec.user ?? '';
  const groups = spec.groups ?? [];
  if (!user && groups.length === 0) {
    return invalid(
      'SubjectAccessReview',
      'spec.user: Invalid value: "": at least one of user or group must be specified',
    );
  }
  if (!spec.resourceAttributes === !spec.nonResourceAttributes) {
    return invalid(
      'SubjectAccessReview',
      'spec.resourceAttributes: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
    );
  }
  const reply = (status: Record<string, unknown>): ReviewResult => ({
    code: 201,
    body: {
      kind: 'SubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec,
      status,
    },
  });
  const attrs = spec.resourceAttributes;
  if (!attrs) return reply({ allowed: false });
  const covering = grants.filter((g) => grantCovers(g, user, groups, attrs));
  const denial = covering.find((g) => g.effect === 'deny');
  if (denial)
    return reply({ allowed: false, denied: true, reason: `denied by ${denial.name ?? 'a deny grant'}` });
  const grant = covering[0];
  if (!grant) return reply({ allowed: false });
  const binding = grant.namespace
    ? `RoleBinding "${grant.name ?? 'grant'}/${grant.namespace}"`
    : `ClusterRoleBinding "${grant.name ?? 'grant'}"`;
  const who = grant.user !== undefined && grant.user === user ? `User "${user}"` : `Group "${grant.group}"`;
  return reply({ allowed: true, reason: `RBAC: allowed by ${binding} to ${who}` });
}
