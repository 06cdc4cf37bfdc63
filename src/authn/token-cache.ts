/**
 * Verified credentials remembered by a hash of the token, so a CI burst pays
 * for one signature check (or one TokenReview), even when its requests
 * arrive together, and then costs a hash lookup. Refusals are remembered
 * too, briefly and apart, so a bad token costs its checks once (the apiserver
 * caches failed webhook authentications for 10 s the same way) and a flood of
 * junk cannot evict the good entries. Every map here has a bound.
 * The token itself is never kept: a memory dump shows only SHA-256 digests.
 */
import { hash } from 'node:crypto';
import { boundedCache, type BoundedCache } from '../bounded-cache.js';
import { GatewayError } from '../errors.js';
import { SingleFlight } from '../single-flight.js';

export interface TokenCacheOptions {
  /** Accepted tokens remembered. */
  max?: number;
  /** Refused tokens remembered. */
  maxRejected?: number;
  /** How long a refusal is remembered (ms); 0 turns the negative cache off. */
  rejectedTTL?: number;
  /** Most verifications shared between concurrent callers; beyond it each caller verifies alone. */
  maxPending?: number;
  /** Wall clock in ms (tests advance it instead of sleeping). */
  now?: () => number;
}

/** The apiserver's default for remembering a failed token authentication. */
export const REJECTED_TTL_MS = 10_000;

/** A refusal worth remembering: the credentials are bad (401), not a dependency down (503). */
const isRejection = (err: unknown): err is GatewayError => err instanceof GatewayError && err.status === 401;

export class TokenCache<V extends object> {
  private readonly accepted: BoundedCache<string, { value: V; until: number }>;
  private readonly rejected: BoundedCache<string, { error: GatewayError; until: number }>;
  private readonly pending: SingleFlight<string, V>;
  private readonly now: () => number;
  private readonly rejectedTTL: number;

  constructor(options: TokenCacheOptions = {}) {
    this.accepted = boundedCache({ max: options.max ?? 10_000 });
    this.rejected = boundedCache({ max: options.maxRejected ?? 10_000 });
    this.now = options.now ?? Date.now;
    this.rejectedTTL = options.rejectedTTL ?? REJECTED_TTL_MS;
    this.pending = new SingleFlight(options.maxPending ?? 10_000);
  }

  /** One-shot hash: half the cost of a Hash object, and this runs on every bearer request. */
  static key(token: string): string {
    return hash('sha256', token, 'base64url');
  }

  /** The remembered value; throws the remembered refusal; undefined when neither is known. */
  get(key: string): V | undefined {
    const hit = this.lookup(key);
    if (hit && 'error' in hit) throw hit.error;
    return hit?.value;
  }

  private lookup(key: string): { value: V } | { error: GatewayError } | undefined {
    const now = this.now();
    const hit = this.accepted.get(key);
    if (hit && hit.until > now) return hit;
    if (hit) this.accepted.delete(key);
    const refused = this.rejected.get(key);
    if (refused && refused.until > now) return refused;
    if (refused) this.rejected.delete(key);
    return undefined;
  }

  /** Remembers `value` until `until` (ms since epoch); nothing when that is already past. */
  set(key: string, value: V, until: number): void {
    if (until > this.now()) this.accepted.set(key, { value, until });
  }

  /**
   * The cached value (or refusal), else the one `compute` produces — computed
   * once however many callers ask for the same key at the same time. A 401
   * from `compute` is remembered for the rejected TTL; other failures are not.
   */
  remember(key: string, compute: () => Promise<{ value: V; until: number }>): Promise<V> {
    const hit = this.lookup(key);
    if (hit) return 'error' in hit ? Promise.reject(hit.error) : Promise.resolve(hit.value);
    return this.pending.run(key, () =>
      compute().then(
        ({ value, until }) => {
          this.set(key, value, until);
          return value;
        },
        (err: unknown) => {
          if (isRejection(err) && this.rejectedTTL > 0)
            this.rejected.set(key, { error: err, until: this.now() + this.rejectedTTL });
          throw err;
        },
      ),
    );
  }

  clear(): void {
    this.accepted.clear();
    this.rejected.clear();
  }
}
