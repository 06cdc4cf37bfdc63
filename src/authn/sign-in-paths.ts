/**
 * The gateway's own sign-in routes on publicURL's host all live under one
 * prefix: oidc/ (`/auth/login`, `/auth/callback`, `/auth/logout`,
 * `/auth/whoami`), handoff/ (`/auth/handoff`) and terminal/ (`/auth/cli/…`,
 * `/auth/device`). Some of their URLs carry what no page may read — the
 * handoff's `state` above all, which a path-form app's script on the same
 * origin could read from any page of ours left at such a URL — so the
 * listener never answers a request for one with a page (server/header-limit.ts).
 */
export const SIGN_IN_PREFIX = '/auth/';
/** Starts a browser sign-in (oidc/router.ts); where every "sign in again" leads. */
export const LOGIN_PATH = `${SIGN_IN_PREFIX}login`;

/**
 * Whether a request target (origin-form, or absolute-form as a client may send it) is under
 * SIGN_IN_PREFIX. Without case: express matches routes without it.
 */
export function isSignInTarget(target: string): boolean {
  const path = target.startsWith('/') ? target : target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  return path.slice(0, SIGN_IN_PREFIX.length).toLowerCase() === SIGN_IN_PREFIX;
}
