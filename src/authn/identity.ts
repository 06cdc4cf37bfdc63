/** Who is calling, however they proved it. Every later stage sees only this. */
export interface Identity {
  username: string;
  uid?: string;
  groups: string[];
  email?: string;
  /** Extra attributes, passed to SubjectAccessReview as `extra`. */
  extra: Record<string, string[]>;
  /** How the caller authenticated: shown in audit events and /auth/whoami. */
  method: AuthMethod;
}

export type AuthMethod = 'session' | 'jwt' | 'serviceaccount' | 'anonymous';

/** The unauthenticated caller, used only with `--insecure-no-auth`. */
export const ANONYMOUS: Identity = Object.freeze({
  username: 'system:anonymous',
  groups: ['system:unauthenticated'],
  extra: {},
  method: 'anonymous',
});
