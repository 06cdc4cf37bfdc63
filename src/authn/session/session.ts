/**
 * What a browser session holds, and the pure rules that say whether it is
 * still good. Kept small on purpose: the mapped user, lifetimes and the
 * refresh token — not the IdP's tokens or claims (those bloat cookies and
 * leak to anything that can read them).
 */
import type { MappedUser } from '../claims/mapping.js';
import type { Identity } from '../../request/identity.js';

export interface Session {
  /** Random id: the single-flight refresh key (and the Redis key's source). */
  sid: string;
  user: MappedUser;
  /** The IdP's `sub`, checked against userinfo after a refresh without an id_token. */
  sub: string;
  /** Seconds since the epoch: signed in, absolute end, last request seen. */
  iat: number;
  exp: number;
  seen: number;
  /** When the IdP's tokens expire (seconds); refreshed this long before. */
  tokExp?: number;
  /** Lifetime of those tokens (seconds), so short-lived tokens are not refreshed on every request. */
  tokTTL?: number;
  rt?: string;
  /**
   * How many times the session has been refreshed. Single-flight refresh
   * compares it to tell whether another request already did the work: the
   * refresh token cannot tell, since IdPs that do not rotate it send the same one back.
   */
  gen?: number;
  /** The id_token, for RP-initiated logout's id_token_hint; only server-side stores keep it. */
  idt?: string;
}

export interface SessionTimes {
  /** ms */
  idleTimeout: number;
  refreshBefore: number;
}

export type SessionVerdict =
  { kind: 'expired'; message: string } | { kind: 'refresh' } | { kind: 'touch' } | { kind: 'ok' };

/** Session times are whole seconds since the epoch; clocks give milliseconds. */
export const toSeconds = (ms: number): number => Math.floor(ms / 1000);

/** Which refresh of the session this is (0 before the first). */
export const generation = (s: Session): number => s.gen ?? 0;

/** How often (at most) an active session is rewritten to move its idle deadline. */
function touchInterval(idleTimeoutMs: number): number {
  return Math.min(60, Math.floor(idleTimeoutMs / 1000 / 10));
}

/** @param now seconds since the epoch (toSeconds of the injected clock) */
export function judgeSession(s: Session, times: SessionTimes, now: number): SessionVerdict {
  if (s.exp <= now) return { kind: 'expired', message: 'your session has expired; sign in again' };
  const idle = times.idleTimeout / 1000;
  if (idle > 0 && s.seen + idle <= now)
    return { kind: 'expired', message: 'your session ended after a period of inactivity; sign in again' };
  if (s.rt && s.tokExp !== undefined) {
    // With 5-minute access tokens and refreshBefore 5m, refreshing "5m early" would mean on every request.
    const margin = Math.min(times.refreshBefore / 1000, (s.tokTTL ?? Infinity) / 2);
    if (s.tokExp - margin <= now) return { kind: 'refresh' };
  }
  if (idle > 0 && now - s.seen >= touchInterval(times.idleTimeout)) return { kind: 'touch' };
  return { kind: 'ok' };
}

export function sessionIdentity(s: Session): Identity {
  return { ...s.user, method: 'session' };
}

/** Structural check of a decoded session, so a malformed blob is an invalid session, not a crash. */
export function isSession(v: unknown): v is Session {
  const s = v as Session;
  return (
    !!s &&
    typeof s === 'object' &&
    typeof s.sid === 'string' &&
    typeof s.sub === 'string' &&
    typeof s.exp === 'number' &&
    typeof s.seen === 'number' &&
    !!s.user &&
    typeof s.user.username === 'string' &&
    Array.isArray(s.user.groups)
  );
}
