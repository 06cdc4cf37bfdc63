/**
 * The balancer's view of one Target's endpoints: a record per `ip:port` that
 * outlives target refreshes (so outstanding counts and ejection history
 * survive a new EndpointSlice version), and the ordered tiers a pick walks.
 *
 * Tiers follow kube-proxy: ready endpoints; when none is ready, the ones that
 * are serving and terminating. Within that group, when topology applies, the
 * endpoints close to this gateway's zone come first and the whole group second.
 */
import type { Endpoint, Target } from '../../request/target.js';

export interface EndpointRecord {
  /** `ip:port`, the key callers use in `exclude`. */
  readonly key: string;
  endpoint: Endpoint;
  /** Requests started and not yet ended. */
  outstanding: number;
  consecutiveFailures: number;
  /** Ejections so far (decays while healthy); multiplies the next ejection time. */
  ejections: number;
  /** Ejected until this instant (ms of the picker's clock); 0 when never ejected. */
  ejectedUntil: number;
  /** Successes still needed after a return before the normal failure threshold applies again. */
  probation: number;
  /** Bit i set when the record belongs to tiers[i]. */
  tierBits: number;
  /** Set once the endpoint left the target, so stale references (affinity, in-flight requests) are ignored. */
  removed: boolean;
}

/** Traffic distributions that mean "prefer endpoints near the client". */
const PREFER_CLOSE = new Set(['PreferClose', 'PreferSameZone', 'PreferSameNode']);

export function endpointKey(endpoint: Endpoint): string {
  return `${endpoint.ip}:${endpoint.port}`;
}

function newRecord(endpoint: Endpoint): EndpointRecord {
  return {
    key: endpointKey(endpoint),
    endpoint,
    outstanding: 0,
    consecutiveFailures: 0,
    ejections: 0,
    ejectedUntil: 0,
    probation: 0,
    tierBits: 0,
    removed: false,
  };
}

function isClose(endpoint: Endpoint, zone: string): boolean {
  // Hints are the EndpointSlice controller's answer for this zone; use them when present.
  if (endpoint.hintZones && endpoint.hintZones.length > 0) return endpoint.hintZones.includes(zone);
  return endpoint.zone === zone;
}

/**
 * Topology applies when we know our zone and either the Service asks for it
 * (PreferClose) or every endpoint carries hints (topology-aware routing: like
 * kube-proxy, partial hints are ignored because they would overload the hinted ones).
 */
function topologyApplies(
  group: readonly EndpointRecord[],
  zone: string | undefined,
  trafficDistribution: string | undefined,
): zone is string {
  if (zone === undefined) return false;
  if (trafficDistribution !== undefined && PREFER_CLOSE.has(trafficDistribution)) return true;
  return group.every((r) => (r.endpoint.hintZones?.length ?? 0) > 0);
}

/** The tiers to try in order; empty when no endpoint may receive traffic. */
export function buildTiers(
  records: readonly EndpointRecord[],
  zone: string | undefined,
  trafficDistribution: string | undefined,
): EndpointRecord[][] {
  let group = records.filter((r) => r.endpoint.ready);
  if (group.length === 0) group = records.filter((r) => r.endpoint.serving && r.endpoint.terminating);
  if (group.length === 0) return [];
  if (!topologyApplies(group, zone, trafficDistribution)) return [group];
  const close = group.filter((r) => isClose(r.endpoint, zone));
  return close.length > 0 && close.length < group.length ? [close, group] : [group];
}

function sameZones(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return (
    a.ip === b.ip &&
    a.port === b.port &&
    a.ready === b.ready &&
    a.serving === b.serving &&
    a.terminating === b.terminating &&
    a.zone === b.zone &&
    sameZones(a.hintZones, b.hintZones)
  );
}

export class EndpointSet {
  records: EndpointRecord[] = [];
  tiers: EndpointRecord[][] = [];
  /** Round-robin position per tier. */
  cursors: number[] = [];
  private byKey = new Map<string, EndpointRecord>();
  private source: readonly Endpoint[] = [];
  private trafficDistribution: string | undefined;

  constructor(private readonly zone: string | undefined) {}

  /**
   * Brings the set up to date with the target. Cheap when nothing changed: the
   * same array is one comparison, an equal copy one pass without allocation.
   */
  sync(target: Target): void {
    const endpoints = target.endpoints;
    if (endpoints === this.source && target.trafficDistribution === this.trafficDistribution) return;
    if (target.trafficDistribution === this.trafficDistribution && this.sameAsRecords(endpoints)) {
      this.source = endpoints;
      for (let i = 0; i < endpoints.length; i++) this.records[i].endpoint = endpoints[i]!;
      return;
    }
    this.rebuild(endpoints, target.trafficDistribution);
  }

  get(key: string): EndpointRecord | undefined {
    return this.byKey.get(key);
  }

  /** How many endpoints the ejection cap is a share of: the group traffic goes to. */
  get groupSize(): number {
    return this.tiers.length === 0 ? 0 : this.tiers[this.tiers.length - 1].length;
  }

  private sameAsRecords(endpoints: readonly Endpoint[]): boolean {
    if (endpoints.length !== this.records.length) return false;
    for (let i = 0; i < endpoints.length; i++)
      if (!sameEndpoint(endpoints[i], this.records[i].endpoint)) return false;
    return true;
  }

  private rebuild(endpoints: readonly Endpoint[], trafficDistribution: string | undefined): void {
    const next = new Map<string, EndpointRecord>();
    const records: EndpointRecord[] = [];
    for (const endpoint of endpoints) {
      const key = endpointKey(endpoint);
      if (next.has(key)) continue; // the same address in two slices is one backend
      const record = this.byKey.get(key) ?? newRecord(endpoint);
      record.endpoint = endpoint;
      record.tierBits = 0;
      next.set(key, record);
      records.push(record);
    }
    // Forget what disappeared, so memory follows the current endpoints only.
    for (const [key, record] of this.byKey) if (!next.has(key)) record.removed = true;
    this.byKey = next;
    this.records = records;
    this.source = endpoints;
    this.trafficDistribution = trafficDistribution;
    this.tiers = buildTiers(records, this.zone, trafficDistribution);
    this.tiers.forEach((tier, i) => tier.forEach((r) => (r.tierBits |= 1 << i)));
    this.cursors = this.tiers.map(() => 0);
  }
}
