/**
 * The ES256 keys that sign identity assertions, and the set published at
 * /.well-known/jwks.json.
 *
 * - From `signingKeyFile` (a mounted Secret, shared by every replica): the
 *   first PEM key signs, any further keys are published only, so an admin can
 *   publish a new key before signing with it. The file is re-read, and a key
 *   that stops signing stays published until its assertions have expired.
 * - Generated (no file): each replica makes its own; the next key is published
 *   one rotation ahead of use and the old one kept for the overlap. With
 *   several replicas, each publishes only its own keys, so use a file there.
 */
import { generateKeyPairSync, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import { readSigningKeys } from './signing-key-file.js';

export { readSigningKeys, SigningKeyError } from './signing-key-file.js';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  /** Public JWK with kid, alg and use. */
  jwk: JWK;
}

export interface KeyRing {
  /** The key to sign with now. */
  current(): SigningKey;
  /** Every key a verifier may meet: the next one, the current one and retired ones still in their overlap. */
  published(): JWK[];
  close(): void;
}

export interface KeyRingOptions {
  file?: string;
  /** How often a generated key is replaced (ms). */
  rotation: number;
  /** How long a key that stopped signing stays published (ms): assertion lifetime plus clock skew. */
  overlap: number;
  /** How often the key file is re-read (ms). */
  reloadInterval?: number;
  logger: Logger;
  now?: () => number;
  /** Runs the reloads and rotations (tests advance it); `now` defaults to its time. */
  clock?: Clock;
}

/** A key readSigningKeys accepted (or one generated on the same curve) with its kid and public JWK. */
async function signingKey(privateKey: KeyObject): Promise<SigningKey> {
  const { kty, crv, x, y } = createPublicKey(privateKey).export({ format: 'jwk' });
  const pub: JWK = { kty, crv, x, y };
  const kid = await calculateJwkThumbprint(pub);
  return { kid, privateKey, jwk: { ...pub, kid, alg: 'ES256', use: 'sig' } };
}

/** The keys of a PEM file with their kids; throws SigningKeyError as readSigningKeys does. */
export const parseKeyFile = (pem: string, file: string): Promise<SigningKey[]> =>
  Promise.all(readSigningKeys(pem, file).map(signingKey));

export const generateSigningKey = (): Promise<SigningKey> =>
  signingKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);

/**
 * Runs `work` (which handles its own errors) every `ms` on `clock`, the next run counted from the
 * end of the last; returns a stop function.
 */
function every(clock: Clock, ms: number, work: () => Promise<void>): () => void {
  let stopped = false;
  let cancel = () => {};
  const arm = () => {
    cancel = clock.after(ms, () => void work().finally(() => !stopped && arm()));
  };
  arm();
  return () => {
    stopped = true;
    cancel();
  };
}

export async function createKeyRing(options: KeyRingOptions): Promise<KeyRing> {
  const clock = options.clock ?? systemClock;
  const now = options.now ?? (() => clock.now());
  /** Keys that no longer sign, published until `until`. */
  let retired: { key: SigningKey; until: number }[] = [];
  let active: SigningKey[]; // [signing, ...published-only]
  let stop: () => void;

  function retire(previous: readonly SigningKey[], next: readonly SigningKey[]): void {
    const kept = new Set(next.map((k) => k.kid));
    const until = now() + options.overlap;
    for (const key of previous) if (!kept.has(key.kid)) retired.push({ key, until });
    retired = retired.filter((r) => !kept.has(r.key.kid));
  }

  if (options.file) {
    const file = options.file;
    let text = await readFile(file, 'utf8');
    active = await parseKeyFile(text, file);
    stop = every(clock, options.reloadInterval ?? 30_000, async () => {
      try {
        const fresh = await readFile(file, 'utf8');
        if (fresh === text) return;
        const keys = await parseKeyFile(fresh, file);
        text = fresh;
        retire(active, keys);
        active = keys;
        options.logger.info({ kid: keys[0].kid }, 'assertion signing key reloaded');
      } catch (err) {
        options.logger.error({ err }, 'assertion signing key file unreadable; keeping the previous keys');
      }
    });
  } else {
    active = [await generateSigningKey(), await generateSigningKey()]; // [current, next]
    stop = every(clock, options.rotation, async () => {
      try {
        const next = await generateSigningKey();
        const previous = active;
        active = [previous[1], next];
        retire(previous, active);
        options.logger.info({ kid: active[0].kid }, 'assertion signing key rotated');
      } catch (err) {
        options.logger.error({ err }, 'assertion signing key rotation failed; keeping the current keys');
      }
    });
  }

  return {
    current: () => active[0],
    published() {
      const t = now();
      retired = retired.filter((r) => r.until > t);
      return [...active, ...retired.map((r) => r.key)].map((k) => k.jwk);
    },
    close: () => stop(),
  };
}
