/**
 * How a tunnel ended, as the audit log records it: shared by the tunnel
 * (proxy/tunnel/), the request context and the audit event. The reasons are
 * a fixed set, so they can be metric labels.
 */
export const END_REASONS = [
  /** The client ended its bytes first, then the backend: the whole stream went through. */
  'client-closed',
  /** The backend ended first, then the client. */
  'backend-closed',
  /** The backend connection broke mid-stream (reset, error). */
  'backend-error',
  /** No endpoint accepted the connection. */
  'backend-unreachable',
  /** The client closed the WebSocket before the end (the CLI stopped, its local connection failed). */
  'client-aborted',
  /** The client's connection dropped: no close frame, or no answer to a keepalive ping. */
  'client-lost',
  'protocol-error',
  'idle-timeout',
  'max-lifetime',
  /** The credential that opened the tunnel expired or was revoked. */
  'credential-lapsed',
  /** Graceful shutdown of this gateway instance. */
  'shutdown',
] as const;

export type TunnelEndReason = (typeof END_REASONS)[number];

/** The close audit event's `tunnel` part (the open event's is `{ event: 'open' }`). */
export interface TunnelSummary {
  event: 'close';
  endedBy: TunnelEndReason;
  /** The WebSocket close code the client was sent (1006 when it was gone). */
  closeCode: number;
  /** The close reason sent with it. */
  detail: string;
  bytesToBackend: number;
  bytesToClient: number;
  durationMs: number;
}

export type TunnelAudit = { event: 'open' } | TunnelSummary;
