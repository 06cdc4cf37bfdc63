/**
 * The claims of a token the security world's issuer would genuinely issue to
 * alice (group devs, five minutes to live), for tests to sign or tamper with.
 */
import type { JWTPayload } from 'jose';
import type { World } from './world.js';

/** Seconds since the epoch, as JWT time claims count. */
export const now = (): number => Math.floor(Date.now() / 1000);

/** Alice's claims from `w`'s issuer, with `over` on top. */
export const aliceClaims = (w: World, over: JWTPayload = {}): JWTPayload => ({
  iss: w.issuer.url,
  aud: 'kube-bastion',
  sub: 'alice',
  groups: ['devs'],
  iat: now(),
  exp: now() + 300,
  ...over,
});
