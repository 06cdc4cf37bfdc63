/**
 * The end of a bearer JWT, as a CredentialLiveness: a connection opened with
 * the token (a TCP tunnel) ends at its `exp`. The request was authenticated
 * already, so the token is not verified again here, only read. Tokens that
 * are not JWTs, or carry no `exp`, have no known end: undefined.
 *
 * Nothing is asked of the issuer: a JWT cannot be revoked before its `exp`
 * (the gateway's own CLI tokens can; their liveness comes from
 * Authentication.liveness, and both are watched).
 */
import type { IncomingMessage } from 'node:http';
import { decodeJwt } from 'jose';
import { bearerToken } from './credentials.js';
import type { CredentialLiveness } from './liveness.js';

/** Checks cost nothing (no IO), but one per hour is plenty: the timer at `exp` does the work. */
const RECHECK_MS = 60 * 60_000;

export function bearerExpiry(req: IncomingMessage, now: () => number): CredentialLiveness | undefined {
  let exp: unknown;
  try {
    const token = bearerToken(req);
    if (token === undefined) return undefined;
    exp = decodeJwt(token).exp;
  } catch {
    return undefined; // not a JWT: nothing to read an end from
  }
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return undefined;
  const expiresAt = exp * 1000;
  return {
    recheckMs: RECHECK_MS,
    check: () =>
      Promise.resolve(
        now() < expiresAt ? { alive: true, expiresAt } : { alive: false, reason: 'token expired' },
      ),
  };
}
