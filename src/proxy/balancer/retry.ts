/**
 * When a failed attempt may be tried again on another endpoint. Only connection
 * failures before any response byte qualify. If no request byte went out on an
 * open connection (refused, connect timeout, a pooled connection the upstream
 * had already closed), the upstream cannot have acted: any method is retried.
 * Once bytes went out, a reset may come after the upstream acted on them, so
 * only idempotent methods are repeated (as Go's http.Transport does).
 */

/** Error codes that mean "the connection could not be made or was lost before any response byte". */
export const CONNECT_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  // ETIMEDOUT from the OS while connecting; ECONNECTTIMEOUT is the forwarder's own connect timer.
  'ETIMEDOUT',
  'ECONNECTTIMEOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ECONNABORTED',
]);

/** RFC 9110 §9.2.2: repeating these has the effect of doing them once. */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function isConnectError(errorCode: string | undefined): boolean {
  return errorCode !== undefined && CONNECT_ERROR_CODES.has(errorCode);
}

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method.toUpperCase());
}

export interface RetryQuestion {
  method: string;
  /** Some request byte (head or body) went out on an established connection. */
  requestWritten: boolean;
  /** Some of the request body was already streamed upstream (it cannot be sent again from the client stream). */
  bodyStarted: boolean;
  /** Node's `err.code` of the failed attempt. */
  errorCode: string | undefined;
  /** Attempts made so far, counting the one that just failed (1 after the first). */
  attempt: number;
  /** `upstream.loadBalancing.retries`: retries allowed after the first attempt. */
  retries: number;
  /**
   * The caller can send the body again (it kept a copy). Default true; a
   * forwarder that streams bodies straight through passes false.
   */
  bodyReplayable?: boolean;
}

/**
 * True when the request should be tried again on another endpoint (pick with
 * the failed one in `exclude`). The caller also asks the RetryBudget.
 */
export function shouldRetry(q: RetryQuestion): boolean {
  if (q.attempt > q.retries) return false;
  if (!isConnectError(q.errorCode)) return false;
  if (!q.requestWritten) return true;
  // The upstream may have read the request and acted on it before the connection died.
  if (!isIdempotent(q.method)) return false;
  // A body already on the wire can only be sent again from a copy.
  return !q.bodyStarted || q.bodyReplayable !== false;
}
