/**
 * The one error type of the request path. It carries what the client is told:
 * an HTTP status and a Kubernetes `reason`, as the apiserver's `Status` has.
 * `web/error-response.ts` is the only place that turns it into bytes.
 */
export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'RequestEntityTooLarge'
  | 'ServiceUnavailable'
  | 'InternalError'
  | 'Timeout'
  | 'BadGateway'
  | 'GatewayTimeout'
  | 'TooManyRequests'
  | '';

export interface StatusDetails {
  name?: string;
  kind?: string;
}

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'GatewayError';
  }

  /** The Kubernetes `Status` object for this error. */
  toStatus(): KubeStatus {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason || undefined,
      details: this.details,
      code: this.status,
    };
  }
}

export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason?: StatusReason;
  details?: StatusDetails;
  code: number;
}

export const badRequest = (message: string) => new GatewayError(400, 'BadRequest', message);
export const unauthorized = (message = 'Unauthorized') => new GatewayError(401, 'Unauthorized', message);
export const forbidden = (message: string) => new GatewayError(403, 'Forbidden', message);
export const notFound = (kind: string, name: string) =>
  new GatewayError(404, 'NotFound', `${kind} "${name}" not found`, { name, kind });
export const serviceUnavailable = (message: string) => new GatewayError(503, 'ServiceUnavailable', message);
export const internalError = (message: string) =>
  new GatewayError(500, 'InternalError', `Internal error occurred: ${message}`);
export const gatewayTimeout = (message: string) => new GatewayError(504, 'Timeout', message);
