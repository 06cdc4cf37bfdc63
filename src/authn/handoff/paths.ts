/**
 * Where the handoff lives. On the gateway's own origin: `/auth/handoff`. On a
 * routed host, everything under `/.kube-bastion/` belongs to the gateway and
 * is never proxied (the server's routing checks it before anything goes
 * upstream), so a handoff can never reach an app.
 */
import { SIGN_IN_PREFIX } from '../sign-in-paths.js';

/** On publicURL: mints a handoff for a routed host (signing in first if needed). */
export const HANDOFF_PATH = `${SIGN_IN_PREFIX}handoff`;
/** On a routed host: the reserved prefix. */
export const HOST_PREFIX = '/.kube-bastion/';
/** On a routed host: starts a sign-in (binds it to this browser, then goes to HANDOFF_PATH). */
export const HOST_SIGNIN_PATH = `${HOST_PREFIX}signin`;
/** On a routed host: redeems a handoff and sets the host's own cookie. */
export const HOST_CALLBACK_PATH = `${HOST_PREFIX}callback`;

/**
 * Whether a routed host's path (decoded and with dot segments removed, as it
 * would go upstream) is the gateway's. Compared without case, since some
 * upstream servers ignore it.
 */
export function isReservedHostPath(path: string): boolean {
  const p = path.toLowerCase();
  return p === HOST_PREFIX.slice(0, -1) || p.startsWith(HOST_PREFIX);
}
