/**
 * What a tunnel tells the rest of the gateway (audit, metrics, log), as plain
 * data: the tunnel knows nothing of prom-client or pino. How it ended is
 * request/tunnel.ts's vocabulary.

 */
import type { RequestContext } from '../../request/context.js';
import type { TunnelSummary } from '../../request/tunnel.js';

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
