/**
 * The signed identity assertion (the Google IAP / Cloudflare Access model):
 * a short-lived ES256 JWT naming the caller, for the one target it is sent
 * to, which an upstream verifies with /.well-known/jwks.json.
 *
 *   header  { alg: ES256, kid, typ: JWT }
 *   claims  { iss: publicURL, aud: "team-a/web", sub, groups, email?, iat, exp, jti }
 *
 * Signing costs ~100 µs, so an assertion is reused for the first three
 * quarters of its lifetime for the same caller, target and key: an upstream
 * always receives one with at least a quarter of its lifetime left.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import { boundedCache } from '../bounded-cache.js';
import { identityCacheKey, type Identity } from '../request/identity.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import type { Target } from '../request/target.js';
import { createKeyRing, type KeyRing } from './signing-keys.js';

export interface AssertionSigner {
  /** A token signed before and not yet due for renewal comes at once (this runs on every request). */
  sign(identity: Identity, audience: string): string | Promise<string>;
  jwks(): { keys: JWK[] };
  close(): void;
}

export interface AssertionSignerDeps {
  logger: Logger;
  /** Wall clock in ms (iat/exp). */
  now?: () => number;
  /** Replaces the key ring built from the config (tests of rotation). */
  keyRing?: KeyRing;
  maxCached?: number;
}

/** Allowed clock difference between gateway and upstream, kept on top of the lifetime when retiring keys. */
export const CLOCK_SKEW_MS = 60_000;

/**
 * The `aud` for a target: `team-a/web` for a Service, `team-a/pods/web-0`, `nodes:node-1`. No two
 * targets share one: a node's has a `:`, which no namespace or Service name can hold (with
 * `nodes/node-1`, a Service `node-1` in a namespace called `nodes` got the node's audience).
 */
export function assertionAudience(target: Pick<Target, 'kind' | 'namespace' | 'name'>): string {
  if (target.kind === 'services') return `${target.namespace}/${target.name}`;
  if (target.kind === 'pods') return `${target.namespace}/pods/${target.name}`;
  return `nodes:${target.name}`;
}

/** The issuer: publicURL without a trailing slash, so `iss` compares equal to what admins write. */
export const assertionIssuer = (publicURL: string): string => publicURL.replace(/\/+$/, '');

export async function createAssertionSigner(
  config: Config,
  deps: AssertionSignerDeps,
): Promise<AssertionSigner> {
  const { ttl, signingKeyFile, keyRotation } = config.upstream.assertion;
  const now = deps.now ?? Date.now;
  const issuer = assertionIssuer(config.publicURL);
  const keys =
    deps.keyRing ??
    (await createKeyRing({
      file: signingKeyFile,
      rotation: keyRotation,
      overlap: ttl + CLOCK_SKEW_MS,
      logger: deps.logger,
      now,
    }));
  const cache = boundedCache<string, { token: Promise<string>; signed?: string; renewAt: number }>({
    max: deps.maxCached ?? 10_000,
  });
  const lifetime = Math.max(1, Math.floor(ttl / 1000));

  async function mint(identity: Identity, audience: string, issuedAt: number): Promise<string> {
    const key = keys.current();
    const claims: Record<string, unknown> = { groups: identity.groups };
    if (identity.email) claims.email = identity.email;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(identity.username)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + lifetime)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  return {
    sign(identity, audience) {
      const t = now();
      const cacheKey = `${keys.current().kid}\n${audience}\n${identityCacheKey(identity)}`;
      const hit = cache.get(cacheKey);
      if (hit && t < hit.renewAt) return hit.signed ?? hit.token;
      const issuedAt = Math.floor(t / 1000);
      const token = mint(identity, audience, issuedAt);
      // Renew after three quarters of the lifetime, measured from the (rounded-down) iat.
      const entry: { token: Promise<string>; signed?: string; renewAt: number } = {
        token,
        renewAt: issuedAt * 1000 + (lifetime * 1000 * 3) / 4,
      };
      cache.set(cacheKey, entry);
      token.then(
        (signed) => (entry.signed = signed),
        () => cache.delete(cacheKey),
      );
      return token;
    },
    jwks: () => ({ keys: keys.published() }),
    close: () => keys.close(),
  };
}
