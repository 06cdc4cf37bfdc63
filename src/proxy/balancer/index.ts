/** The balancer: endpoint choice, passive outlier detection, retries. See README.md. */
export {
  EndpointPicker,
  type EndpointPickerOptions,
  type PickerStats,
  type Client,
  type Finish,
} from './picker.js';
export { affinityClientKey, type AffinityKey } from './affinity.js';
export { outcomeForStatus, type Outcome, type OutlierDetection } from './outlier.js';
export {
  shouldRetry,
  isConnectError,
  isIdempotent,
  CONNECT_ERROR_CODES,
  type RetryQuestion,
} from './retry.js';
export { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export { endpointKey } from './endpoint-set.js';
export type { Policy } from './choose.js';
export {
  createBalancer,
  type Balancer,
  type BalancerMetrics,
  type BalancerOptions,
  type RetryPolicy,
  type FailedAttempt,
} from './create.js';
