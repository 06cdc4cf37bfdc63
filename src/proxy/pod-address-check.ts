/**
 * The apiserver's `isValidAddress`: an endpoint IP is used only if the Pod its
 * targetRef names lists that IP in `status.podIPs`. Without it, whoever can
 * write an EndpointSlice in namespace A can point the gateway at any pod IP of
 * the cluster by naming a Pod of A (or one that does not exist) beside it.
 *
 * The apiserver GETs the Pod on every request; here a confirmation is kept per
 * (namespace, Pod, IP) and trusted for `recheckAfterMs`, so requests read a
 * Set and only a changed endpoint list costs Pod reads — at most `concurrency`
 * at a time across the whole gateway. A refutation (the Pod is gone, or does
 * not hold the IP) drops a confirmation at once; a failed read does not (the
 * API server being away must not take every Service down with it).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { boundedCache, type BoundedCache } from '../bounded-cache.js';

export type PodCheckResult = 'confirmed' | 'refuted' | 'error';

export interface PodAddressCheckOptions {
  /** Reads a Pod; `maxAgeMs` bounds how old a cached answer may be. */
  pod(namespace: string, name: string, maxAgeMs?: number): Promise<V1Pod | undefined>;
  /** How long a confirmation is trusted before the Pod is read again (ms). */
  recheckAfterMs: number;
  /** Confirmations kept at most (least recently confirmed go first). Default 50 000. */
  max?: number;
  /** Pod reads in flight at once. Default 8. */
  concurrency?: number;
  now?: () => number;
  /** Told of every answer (metrics). */
  onResult?(result: PodCheckResult): void;
}

export interface PodAddress {
  pod: string;
  ip: string;
}

/** A cached Pod this young is as good as a fresh read: the second look after a mismatch reuses it. */
const FRESH_MS = 1000;

const keyOf = (namespace: string, p: PodAddress) => `${namespace}/${p.pod}/${p.ip}`;

function owns(pod: V1Pod | undefined, ip: string): boolean {
  const ips = pod?.status?.podIPs;
  return ips ? ips.some((p) => p.ip === ip) : pod?.status?.podIP === ip;
}

export class PodAddressCheck {
  /** key → when it was confirmed. */
  private readonly confirmations: BoundedCache<string, number>;
  private readonly now: () => number;
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly opts: PodAddressCheckOptions) {
    this.confirmations = boundedCache({ max: opts.max ?? 50_000 });
    this.now = opts.now ?? (() => performance.now());
  }

  get size(): number {
    return this.confirmations.size;
  }

  isConfirmed(namespace: string, p: PodAddress): boolean {
    return this.confirmations.has(keyOf(namespace, p));
  }

  /** Reads the Pods of every pair not confirmed within `recheckAfterMs`; true when all are confirmed. */
  async refresh(namespace: string, pairs: readonly PodAddress[]): Promise<boolean> {
    const now = this.now();
    const due = pairs.filter((p) => {
      const at = this.confirmations.peek(keyOf(namespace, p));
      return at === undefined || now - at >= this.opts.recheckAfterMs;
    });
    await Promise.all(due.map((p) => this.check(namespace, p)));
    return pairs.every((p) => this.isConfirmed(namespace, p));
  }

  private async check(namespace: string, p: PodAddress): Promise<PodCheckResult> {
    const key = keyOf(namespace, p);
    let result: PodCheckResult;
    try {
      let pod = await this.limited(() => this.opts.pod(namespace, p.pod));
      // The cached Pod may predate a reschedule that the slice already shows.
      if (!owns(pod, p.ip)) pod = await this.limited(() => this.opts.pod(namespace, p.pod, FRESH_MS));
      result = owns(pod, p.ip) ? 'confirmed' : 'refuted';
    } catch {
      result = 'error';
    }
    if (result === 'confirmed') this.confirmations.set(key, this.now());
    else if (result === 'refuted') this.confirmations.delete(key);
    this.opts.onResult?.(result);
    return result;
  }

  /** Runs `read` once fewer than `concurrency` reads are in flight; a finished read hands its slot on. */
  private async limited<T>(read: () => Promise<T>): Promise<T> {
    if (this.running >= (this.opts.concurrency ?? 8)) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await read();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
