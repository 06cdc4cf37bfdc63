/**
 * EndpointPicker: which endpoint of a Target gets this request, and what the
 * request's outcome teaches us about that endpoint. Pure bookkeeping over an
 * injected clock and random source; the forwarder does the IO.
 *
 * A pick walks the Target's tiers (ready before serving-and-terminating,
 * in-zone before all, see endpoint-set.ts) and takes the first with a
 * candidate. If every endpoint of the last tier is ejected or excluded, the
 * tier is in "panic": ejections are ignored, because trying an ejected endpoint
 * beats answering 503 without trying (an excluded one is never retried).
 *
 * State lives per Target.key and is forgotten when the target has been idle
 * for `targetIdleTime`, so deleted Services do not accumulate. The key holds
 * the port the client wrote (`pods/ns/web-0:8080`), so one user allowed on one
 * pod could name ~65k targets: past `maxTargets` the least recently used
 * target with nothing running is forgotten at once (its ejections, affinity
 * and retry budget start afresh if it comes back).
 */
import type { Endpoint, Target } from '../../request/target.js';
import { AffinityTable, DEFAULT_MAX_AFFINITY_ENTRIES } from './affinity.js';
import {
  chooseP2C,
  chooseRandom,
  countUsable,
  isUsable,
  roundRobinIndex,
  type Policy,
  type Usability,
} from './choose.js';
import { endpointKey, EndpointSet, type EndpointRecord } from './endpoint-set.js';
import { isEjected, recordOutcome, type OutlierDetection, type Outcome } from './outlier.js';
import { RetryBudget } from './retry-budget.js';

export interface EndpointPickerOptions {
  policy: Policy;
  outlierDetection: OutlierDetection;
  /** This gateway's zone, for PreferClose and topology hints. */
  zone?: string | undefined;
  /** `upstream.loadBalancing.retryBudgetPercent` (default 20). */
  retryBudgetPercent?: number;
  /** Monotonic milliseconds. */
  now?: () => number;
  /** In [0, 1). */
  random?: () => number;
  /** Affinity entries kept per target (LRU beyond). */
  maxAffinityEntries?: number;
  /** Told of every ejection (metrics, logs). */
  onEject?: (target: Target, endpoint: Endpoint) => void;
  /** Forget a target's state after this long without a pick or a running request (ms). */
  targetIdleTime?: number;
  /** Targets with state at most (least recently used forgotten first); default DEFAULT_MAX_TARGETS. */
  maxTargets?: number;
}

export const DEFAULT_MAX_TARGETS = 10_000;

export interface PickerStats {
  endpoints: number;
  ejected: number;
  outstanding: number;
}

export interface Client {
  /** Affinity key: see affinityClientKey. Ignored for targets without session affinity. */
  key: string;
}

export type Finish = (outcome: Outcome) => void;

interface TargetState {
  set: EndpointSet;
  affinity: AffinityTable | undefined;
  budget: RetryBudget | undefined;
  lastUsed: number;
  running: number;
}

export class EndpointPicker {
  /** In least-recently-used order: a use moves a target to the end. */
  private readonly states = new Map<string, TargetState>();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly idleTime: number;
  private readonly maxTargets: number;
  /** Scratch for the current pick; a pick is synchronous, so one object serves all. */
  private readonly usability: Usability = { now: 0, exclude: undefined, panic: false };
  private lastSweep = 0;

  constructor(private readonly opts: EndpointPickerOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.random = opts.random ?? Math.random;
    this.idleTime = opts.targetIdleTime ?? 600_000;
    this.maxTargets = opts.maxTargets ?? DEFAULT_MAX_TARGETS;
  }

  /** Chooses an endpoint; `exclude` holds `ip:port` keys already tried in this request. undefined when none usable. */
  pick(target: Target, client: Client, exclude?: ReadonlySet<string>): Endpoint | undefined {
    const now = this.now();
    const state = this.stateFor(target, now);
    const tiers = state.set.tiers;
    const u = this.usability;
    u.now = now;
    u.exclude = exclude !== undefined && exclude.size > 0 ? exclude : undefined;
    u.panic = false;

    let index = 0;
    let count = 0;
    for (; index < tiers.length; index++) {
      count = countUsable(tiers[index], u);
      if (count > 0) break;
    }
    if (count === 0) {
      if (tiers.length === 0) return undefined;
      index = tiers.length - 1;
      u.panic = true;
      count = countUsable(tiers[index], u);
      if (count === 0) return undefined;
    }
    const tier = tiers[index];

    const timeoutMs = target.affinity ? target.affinity.timeoutSeconds * 1000 : 0;
    if (target.affinity) {
      const sticky = state.affinity!.get(client.key, now, timeoutMs);
      if (sticky && (sticky.tierBits & (1 << index)) !== 0 && isUsable(sticky, u)) return sticky.endpoint;
    }
    const chosen = this.choose(state.set, tier, index, count, u);
    if (target.affinity) state.affinity!.set(client.key, chosen, now, timeoutMs);
    return chosen.endpoint;
  }

  /** Call when a request starts on an endpoint; returns a function to call with the outcome when it ends. */
  start(target: Target, endpoint: Endpoint): Finish {
    const now = this.now();
    const state = this.stateFor(target, now);
    const record = state.set.get(endpointKey(endpoint));
    if (!record) return () => {}; // not one of the target's endpoints: nothing to learn
    record.outstanding++;
    state.running++;
    let ended = false;
    return (outcome) => {
      if (ended) return;
      ended = true;
      record.outstanding--;
      state.running--;
      const end = this.now();
      state.lastUsed = end;
      const group = state.set.tiers[state.set.tiers.length - 1] ?? [];
      if (recordOutcome(record, outcome, group, this.opts.outlierDetection, end))
        this.opts.onEject?.(target, record.endpoint);
    };
  }

  /** The target's retry budget: `recordRequest()` once per client request, `tryRetry()` before each retry. */
  retryBudget(target: Target): RetryBudget {
    const state = this.stateFor(target, this.now());
    state.budget ??= new RetryBudget({ percent: this.opts.retryBudgetPercent ?? 20, now: this.now });
    return state.budget;
  }

  stats(target: Target): PickerStats {
    const now = this.now();
    const state = this.stateFor(target, now);
    let ejected = 0;
    let outstanding = 0;
    for (const record of state.set.records) {
      if (isEjected(record, now)) ejected++;
      outstanding += record.outstanding;
    }
    return { endpoints: state.set.records.length, ejected, outstanding };
  }

  /** Number of targets with state (for tests and metrics). */
  get targets(): number {
    return this.states.size;
  }

  private choose(
    set: EndpointSet,
    tier: readonly EndpointRecord[],
    index: number,
    count: number,
    u: Usability,
  ): EndpointRecord {
    switch (this.opts.policy) {
      case 'p2c':
        return chooseP2C(tier, count, u, this.random);
      case 'random':
        return chooseRandom(tier, count, u, this.random);
      case 'round-robin': {
        const at = roundRobinIndex(tier, set.cursors[index], u);
        set.cursors[index] = (at + 1) % tier.length;
        return tier[at];
      }
    }
  }

  private stateFor(target: Target, now: number): TargetState {
    let state = this.states.get(target.key);
    if (state) {
      this.states.delete(target.key);
    } else {
      if (now - this.lastSweep > this.idleTime / 4) this.sweep(now);
      state = {
        set: new EndpointSet(this.opts.zone),
        affinity: undefined,
        budget: undefined,
        lastUsed: now,
        running: 0,
      };
      this.evictBeyond(this.maxTargets - 1);
    }
    this.states.set(target.key, state);
    state.set.sync(target);
    if (target.affinity)
      state.affinity ??= new AffinityTable(this.opts.maxAffinityEntries ?? DEFAULT_MAX_AFFINITY_ENTRIES);
    state.lastUsed = now;
    return state;
  }

  /**
   * Forgets the least recently used targets with nothing running until at most `size` are left.
   * Targets with requests running are kept (their outcomes still count): they are bounded by the
   * requests in flight.
   */
  private evictBeyond(size: number): void {
    if (this.states.size <= size) return;
    for (const [key, state] of this.states) {
      if (state.running === 0) this.states.delete(key);
      if (this.states.size <= size) return;
    }
  }

  /** Drops targets nobody used for idleTime and with nothing running; ejections expire well before. */
  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, state] of this.states) {
      if (state.running === 0 && now - state.lastUsed > this.idleTime) this.states.delete(key);
    }
  }
}
