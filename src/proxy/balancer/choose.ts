/**
 * Choosing one endpoint in a tier, without allocating: candidates are the
 * tier's records that are neither excluded (already tried by this request)
 * nor ejected (unless the tier is in panic, see picker.ts).
 */
import type { EndpointRecord } from './endpoint-set.js';

export type Policy = 'p2c' | 'round-robin' | 'random';

/** What makes a record a candidate right now. */
export interface Usability {
  now: number;
  exclude: ReadonlySet<string> | undefined;
  /** Ejections are ignored: every endpoint of the tier is ejected or excluded. */
  panic: boolean;
}

export function isUsable(record: EndpointRecord, u: Usability): boolean {
  if (record.removed) return false;
  if (!u.panic && record.ejectedUntil > u.now) return false;
  return u.exclude === undefined || !u.exclude.has(record.key);
}

export function countUsable(tier: readonly EndpointRecord[], u: Usability): number {
  let count = 0;
  for (const record of tier) if (isUsable(record, u)) count++;
  return count;
}

/** The n-th (0-based) usable record of the tier; n must be below countUsable. */
export function nthUsable(tier: readonly EndpointRecord[], n: number, u: Usability): EndpointRecord {
  for (const record of tier) {
    if (!isUsable(record, u)) continue;
    if (n === 0) return record;
    n--;
  }
  throw new RangeError('nthUsable: n is not below the number of usable records');
}

function randomIndex(random: () => number, size: number): number {
  return Math.min(size - 1, Math.floor(random() * size));
}

/**
 * Power of two choices: two distinct random candidates, the one with fewer
 * outstanding requests wins (the first on a tie). Nearly as good as
 * least-loaded over all, without herding every gateway onto the same endpoint.
 */
export function chooseP2C(
  tier: readonly EndpointRecord[],
  count: number,
  u: Usability,
  random: () => number,
): EndpointRecord {
  if (count === 1) return nthUsable(tier, 0, u);
  const a = randomIndex(random, count);
  let b = randomIndex(random, count - 1);
  if (b >= a) b++;
  const first = nthUsable(tier, a, u);
  const second = nthUsable(tier, b, u);
  return second.outstanding < first.outstanding ? second : first;
}

export function chooseRandom(
  tier: readonly EndpointRecord[],
  count: number,
  u: Usability,
  random: () => number,
): EndpointRecord {
  return nthUsable(tier, randomIndex(random, count), u);
}

/** Round robin: the index of the first candidate at or after the cursor (the caller moves the cursor past it). */
export function roundRobinIndex(tier: readonly EndpointRecord[], cursor: number, u: Usability): number {
  const size = tier.length;
  for (let step = 0; step < size; step++) {
    const index = (cursor + step) % size;
    if (isUsable(tier[index], u)) return index;
  }
  throw new RangeError('roundRobinIndex: no usable record in the tier');
}
