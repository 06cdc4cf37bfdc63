/**
 * What a tunnel tells the rest of the gateway (audit, metrics, log), as plain
 * data: the tunnel knows nothing of prom-client or pino. The reasons are a
 * fixed set, so they can be metric labels.
 */
import type { RequestContext } from '../../server/request-context.js';

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

export interface TunnelEvents {
  /** The WebSocket is up (before the backend is dialled). */
  upgraded(ctx: RequestContext): void;
  /** The backend connection is up: `ctx.endpoint` says which. */
  opened(ctx: RequestContext): void;
  /** The backend could not be reached. */
  unreachable(ctx: RequestContext): void;
  /** Bytes relayed (counted as they move, so long tunnels show on /metrics while open). */
  bytes(direction: 'to-backend' | 'to-client', n: number): void;
  /** The tunnel is over; `ctx.tunnel` holds the summary (the request's own audit event carries it). */
  closed(ctx: RequestContext, summary: TunnelSummary): void;
}
