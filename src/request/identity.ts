import { hash } from 'node:crypto';

/** Who is calling, however they proved it. Every later stage sees only this. */
export interface Identity {
  username: string;
  uid?: string;
  /** Every group, `system:authenticated` included (last) for anyone who authenticated. */
  groups: string[];
  email?: string;
  /** Extra attributes, passed to SubjectAccessReview as `extra`. */
  extra: Record<string, string[]>;
  /** How the caller authenticated: shown in audit events and /auth/whoami. */
  method: AuthMethod;
}

/** `cli`: the gateway's own access token from `kube-bastion login` (authn/terminal/). */
export type AuthMethod = 'session' | 'jwt' | 'serviceaccount' | 'cli' | 'anonymous';

/** The group the apiserver gives every authenticated user, so RBAC and rules can grant "anyone signed in". */
export const AUTHENTICATED_GROUP = 'system:authenticated';

/** The unauthenticated caller, used only with `--insecure-no-auth`. */
export const ANONYMOUS: Identity = Object.freeze({
  username: 'system:anonymous',
  groups: ['system:unauthenticated'],
  extra: {},
  method: 'anonymous',
});

/**
 * `identity` with `system:authenticated` as its last group, as the apiserver's
 * authenticator adds it (never to the anonymous caller). The same object when
 * the group is already there, so cached identities cost nothing per request.
 */
export function withAuthenticatedGroup(identity: Identity): Identity {
  if (identity.method === 'anonymous' || identity.groups.includes(AUTHENTICATED_GROUP)) return identity;
  return { ...identity, groups: [...identity.groups, AUTHENTICATED_GROUP] };
}

/**
 * A fixed-size key for everything a decision or an assertion may depend on
 * (user name, uid, groups, extra, email), for the caches keyed by caller:
 * SubjectAccessReview answers, the portal's lists, signed assertions. A key
 * holding the identity itself would grow with it: one caller with a few KB of
 * groups, asking about 10,000 names, kept 120 MB of SubjectAccessReview keys.
 * Group and extra order do not matter; the JSON encoding keeps every value
 * apart whatever characters it holds.
 */
export function identityCacheKey(identity: Omit<Identity, 'method'>): string {
  // An identity is not changed once made (a new one is made instead): the token cache hands the
  // same object to every request with that token, so its key is computed once.
  let key = keys.get(identity);
  if (key === undefined) keys.set(identity, (key = computeKey(identity)));
  return key;
}

const keys = new WeakMap<object, string>();

function computeKey(identity: Omit<Identity, 'method'>): string {
  const extra = Object.keys(identity.extra)
    .sort()
    .map((k) => [k, [...(identity.extra[k] ?? [])].sort()]);
  const parts = [
    identity.username,
    identity.uid ?? '',
    [...identity.groups].sort(),
    extra,
    identity.email ?? '',
  ];
  return hash('sha256', JSON.stringify(parts), 'base64url');
}
