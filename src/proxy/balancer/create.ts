/**
 * The balancer as the gateway assembles it from `upstream.loadBalancing`: the
 * picker, and the retry policy the forwarder asks after a failed attempt.
 */
import type { IncomingMessage } from 'node:http';
import type { Config } from '../../config/schema.js';
import { EndpointPicker } from './picker.js';
import { RetryBudget } from './retry-budget.js';
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
}

export interface BalancerRetryPolicy {
  /** `attempt`: attempts made so far, counting the failed one (1 after the first). Counts the retry when true. */
  mayRetry(req: IncomingMessage, failure: FailedAttempt, attempt: number): boolean;
  /** Once per client request: the retry budget is a share of these. */
  recordRequest(): void;
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
    now,
    random: o.random,
    onEject: () => o.metrics?.ejections.inc(),
  });
  // One budget for the gateway: the forwarder's retry seam has no target, and an
  // outage anywhere should not turn into extra load everywhere.
  const budget = new RetryBudget({ percent: config.retryBudgetPercent, now });
  const retry: BalancerRetryPolicy = {
    mayRetry(req, failure, attempt) {
      const allowed = shouldRetry({
        method: req.method ?? 'GET',
        // The attempt reads the body only once connected: a refused connect leaves it whole.
        bodyStarted: failure.bodyStarted,
        // Bodies are streamed through, not kept: once read they cannot be sent again.
        bodyReplayable: false,
        errorCode: failure.errorCode,
        attempt,
        retries: config.retries,
      });
      if (!allowed || !budget.tryRetry()) return false;
      o.metrics?.retries.inc();
      return true;
    },
    recordRequest: () => budget.recordRequest(),
  };
  return { picker, retry, budget };
}

export type Balancer = ReturnType<typeof createBalancer>;
