/**
 * What travels in a handoff and what the routed host keeps, and the pure
 * checks on both. Sealing (encryption + integrity) is SealedBox's job under
 * purposes of their own (`handoff`, `host`): neither opens as the other, nor
 * as a session or login cookie.
 *
 *   Handoff      one-time, in the callback URL: for one app origin, for
 *                seconds, for the browser that started it (`st`), by id (`jti`).
 *   HostTicket   the routed host's own cookie: valid on that origin only.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MappedUser } from '../claims/mapping.js';

export interface HostTicket {
  /** The one origin the ticket is valid on: `https://web--team-a.apps.example.com`. */
  aud: string;
  /** The gateway session it stands for (revocation, audit). */
  sid: string;
  /** End of the ticket, ms since the epoch. */
  exp: number;
  /** Cookie store: the gateway session's own end (ms), which a WebSocket opened with the ticket may last to. */
  end?: number;
  /** Cookie store: the user as of the handoff (the main session cannot be read from this host). */
  user?: MappedUser;
  /** Redis store: the server-side session's handle, looked up on every request. */
  h?: string;
}

export interface Handoff {
  /** Random id: a handoff is redeemed once. */
  jti: string;
  /** End of the handoff, ms since the epoch (seconds after it was minted). */
  exp: number;
  /** Where to go on the routed host afterwards: a path, already checked. */
  rd: string;
  /** Digest of the nonce the routed host set in this browser when the sign-in began. */
  st: string;
  ticket: HostTicket;
}

/** Why a handoff is refused; the message is safe to show. */
export type HandoffRefusal = 'malformed' | 'audience' | 'expired' | 'browser' | 'replayed';

export class HandoffError extends Error {
  readonly code = 'ERR_HANDOFF';
  constructor(
    readonly reason: HandoffRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'HandoffError';
  }
}

const AGAIN = 'open the page you wanted again to sign in anew';

export const newHandoffId = (): string => randomBytes(18).toString('base64url');
/** A browser-binding nonce (128 bits). */
export const newNonce = (): string => randomBytes(16).toString('base64url');
/** What the handoff carries of a nonce: its digest, so the URL alone reveals nothing to replay with. */
export const nonceDigest = (nonce: string): string => createHash('sha256').update(nonce).digest('base64url');

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

function isUser(v: unknown): v is MappedUser {
  const u = v as MappedUser;
  return !!u && typeof u === 'object' && isString(u.username) && Array.isArray(u.groups);
}

/** Structural check of an opened ticket: exactly one of `user` (cookie store) and `h` (Redis). */
export function isHostTicket(v: unknown): v is HostTicket {
  const t = v as HostTicket;
  if (!t || typeof t !== 'object' || !isString(t.aud) || !isString(t.sid) || typeof t.exp !== 'number')
    return false;
  if (t.end !== undefined && typeof t.end !== 'number') return false;
  return t.h === undefined ? isUser(t.user) : isString(t.h) && t.user === undefined;
}

function isHandoff(v: unknown): v is Handoff {
  const h = v as Handoff;
  return (
    !!h &&
    typeof h === 'object' &&
    isString(h.jti) &&
    typeof h.exp === 'number' &&
    isString(h.rd) &&
    h.rd.startsWith('/') &&
    isString(h.st) &&
    isHostTicket(h.ticket)
  );
}

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface HandoffExpectation {
  /** The origin the handoff is being redeemed on. */
  origin: string;
  /** ms since the epoch. */
  now: number;
  /** The nonces this browser holds for sign-ins it started on this host. */
  nonces: readonly string[];
}

/**
 * An opened handoff, checked for this host, this moment and this browser;
 * throws HandoffError. Single use is checked after (it needs the store), so
 * a handoff refused here is never spent.
 */
export function checkHandoff(opened: unknown, expect: HandoffExpectation): Handoff {
  if (!isHandoff(opened)) throw new HandoffError('malformed', `this sign-in link is not valid; ${AGAIN}`);
  if (opened.ticket.aud !== expect.origin)
    throw new HandoffError('audience', `this sign-in link was made for another host; ${AGAIN}`);
  if (opened.exp <= expect.now) throw new HandoffError('expired', `this sign-in link has expired; ${AGAIN}`);
  if (!expect.nonces.some((n) => sameDigest(nonceDigest(n), opened.st)))
    throw new HandoffError(
      'browser',
      `this sign-in link was started in another browser, or was already used; ${AGAIN}`,
    );
  return opened;
}

/** An opened host ticket that is good on this origin now; undefined otherwise. */
export function checkTicket(opened: unknown, origin: string, now: number): HostTicket | undefined {
  if (!isHostTicket(opened) || opened.aud !== origin || opened.exp <= now) return undefined;
  return opened;
}
