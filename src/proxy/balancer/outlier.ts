/**
 * Passive outlier detection: what one request's outcome does to its endpoint.
 *
 * Consecutive connect errors or 5xx eject the endpoint for
 * baseEjectionTime × (its number of ejections), capped at maxEjectionTime.
 * After it returns it is on probation: a single failure ejects it again (for
 * longer) until it has strung together `consecutiveFailures` successes. Its
 * ejection count decays by one per maxEjectionTime spent back in service, so an
 * endpoint that failed once last week starts from the base time again.
 * Never more than maxEjectionPercent of the group is ejected at once.
 */
import type { EndpointRecord } from './endpoint-set.js';

export type Outcome = 'success' | 'connect-error' | 'server-error' | 'cancelled';

export interface OutlierDetection {
  consecutiveFailures: number;
  /** ms */
  baseEjectionTime: number;
  /** 0–50: share of the group that may be ejected at once. */
  maxEjectionPercent: number;
  /** ms; the longest single ejection (default 300 s, as in Envoy). */
  maxEjectionTime?: number;
}

export const DEFAULT_MAX_EJECTION_TIME = 300_000;

/** The outcome a response status means for outlier detection. */
export function outcomeForStatus(status: number): Outcome {
  return status >= 500 && status <= 599 ? 'server-error' : 'success';
}

export function isEjected(record: EndpointRecord, now: number): boolean {
  return record.ejectedUntil > now;
}

function ejectedCount(group: readonly EndpointRecord[], now: number): number {
  let count = 0;
  for (const record of group) if (isEjected(record, now)) count++;
  return count;
}

/** How many of a group of this size may be out at once; a lone endpoint is never ejected. */
export function ejectionCap(groupSize: number, maxEjectionPercent: number): number {
  return Math.floor((groupSize * Math.min(50, maxEjectionPercent)) / 100);
}

function ejectionLimit(od: OutlierDetection): number {
  return Math.max(od.baseEjectionTime, od.maxEjectionTime ?? DEFAULT_MAX_EJECTION_TIME);
}

function eject(record: EndpointRecord, od: OutlierDetection, now: number): void {
  const limit = ejectionLimit(od);
  if (record.ejections > 0 && record.ejectedUntil > 0) {
    const healthyFor = Math.max(0, now - record.ejectedUntil);
    record.ejections = Math.max(0, record.ejections - Math.floor(healthyFor / limit));
  }
  record.ejections++;
  record.ejectedUntil = now + Math.min(od.baseEjectionTime * record.ejections, limit);
  record.consecutiveFailures = 0;
  record.probation = od.consecutiveFailures;
}

/**
 * Applies one outcome to the record. `group` is every endpoint traffic may go
 * to (for the cap). Returns true when this outcome ejected the endpoint.
 */
export function recordOutcome(
  record: EndpointRecord,
  outcome: Outcome,
  group: readonly EndpointRecord[],
  od: OutlierDetection,
  now: number,
): boolean {
  if (outcome === 'cancelled' || record.removed) return false;
  if (outcome === 'success') {
    record.consecutiveFailures = 0;
    if (record.probation > 0 && !isEjected(record, now)) record.probation--;
    return false;
  }
  record.consecutiveFailures++;
  if (isEjected(record, now)) return false; // a request that started before the ejection
  const threshold = record.probation > 0 ? 1 : od.consecutiveFailures;
  if (record.consecutiveFailures < threshold) return false;
  // Over the cap the failures stay counted: the endpoint goes as soon as another returns.
  if (ejectedCount(group, now) + 1 > ejectionCap(group.length, od.maxEjectionPercent)) return false;
  eject(record, od, now);
  return true;
}
