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
