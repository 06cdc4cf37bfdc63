/**
 * The balancer as the gateway assembles it from `upstream.loadBalancing`: the
 * picker, and the retry policy the forwarder asks after a failed attempt.
 */
import type { IncomingMessage } from 'node:http';
import type { Config } from '../../config/schema.js';
import type { Target } from '../../request/target.js';
import { EndpointPicker } from './picker.js';
import { shouldRetry } from './retry.js';

type LoadBalancingConfig = Config['upstream']['loadBalancing'];

/** The counters the balancer feeds (structurally prom-client Counters). */
export interface BalancerMetrics {
  ejections: { inc(): void };
  retries: { inc(): void };
}

/** What the forwarder knows of a failed attempt. */
export interface FailedAttempt {
  /** Node's `err.code`. */
  errorCode: string | undefined;
  /** Request bytes went out on an established connection (the upstream may have acted). */
  requestWritten: boolean;
  /** Part of the client's body was read and sent upstream. */
  bodyStarted: boolean;
  /** The forwarder holds a whole copy of the body and can send it again. */
  bodyReplayable?: boolean;
}

export interface RetryPolicy {
  /**
   * `attempt`: attempts made so far, counting the failed one (1 after the first). When true, the
   * retry is counted and taken from the target's budget.
   */
  mayRetry(target: Target, req: IncomingMessage, failure: FailedAttempt, attempt: number): boolean;
  /** Once per client request: the target's retry budget is a share of these. */
  recordRequest(target: Target): void;
}

export interface BalancerOptions {
  metrics?: BalancerMetrics;
  now?: () => number;
  random?: () => number;
}

export function createBalancer(config: LoadBalancingConfig, o: BalancerOptions = {}) {
  const now = o.now ?? (() => performance.now());
  const picker = new EndpointPicker({
    policy: config.policy,
    outlierDetection: config.outlierDetection,
    zone: config.zone,
    retryBudgetPercent: config.retryBudgetPercent,
    maxTargets: config.maxTargets,
    now,
    random: o.random,
    onEject: () => o.metrics?.ejections.inc(),
  });
  const retry: RetryPolicy = {
    // A budget per target (picker.retryBudget): a Service with every endpoint down spends its own
    // retries, not those of healthy Services whose occasional refused connect still deserves one.
    mayRetry(target, req, failure, attempt) {
      const allowed = shouldRetry({
        method: req.method ?? 'GET',
        requestWritten: failure.requestWritten,
        // The attempt reads the body only once connected: a refused connect leaves it whole.
        bodyStarted: failure.bodyStarted,
        // Once read, a streamed body can only be sent again from the forwarder's copy (small bodies).
        bodyReplayable: failure.bodyReplayable ?? false,
        errorCode: failure.errorCode,
        attempt,
        retries: config.retries,
      });
      if (!allowed || !picker.retryBudget(target).tryRetry()) return false;
      o.metrics?.retries.inc();
      return true;
    },
    recordRequest: (target) => picker.retryBudget(target).recordRequest(),
  };
  return { picker, retry };
}

export type Balancer = ReturnType<typeof createBalancer>;
