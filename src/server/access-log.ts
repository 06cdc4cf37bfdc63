/**
 * The end of every proxied request: one access-log line, the metrics, and
 * (when a decision was made) one audit event.
 */
import type { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { elapsedMs, type RequestContext } from './request-context.js';

/** What the audit log needs; kept structural so the audit module can evolve freely. */
export interface AuditSink {
  record(ctx: RequestContext, status: number, bytes: number, durationMs: number): void;
}

export function createAccessLog(logger: Logger, metrics: Metrics, audit?: AuditSink) {
  return function finished(ctx: RequestContext, status: number, bytes: number, error?: GatewayError): void {
    const ms = elapsedMs(ctx);
    const p = ctx.proxyPath;
    const kind = p?.kind ?? 'none';
    const endpoint = ctx.endpoint ? `${ctx.endpoint.ip}:${ctx.endpoint.port}` : undefined;
    logger.info(
      {
        reqId: ctx.id,
        method: ctx.method,
        path: ctx.url.split('?')[0],
        via: ctx.via,
        namespace: p?.namespace,
        kind,
        name: p?.name,
        user: ctx.identity?.username,
        endpoint,
        status,
        bytes,
        ms: Math.round(ms * 1000) / 1000,
        retries: ctx.retries || undefined,
        upgrade: ctx.upgrade || undefined,
        error: error?.message,
      },
      'request',
    );
    metrics.requests.inc({ namespace: p?.namespace ?? '', kind, code: String(status) });
    metrics.requestDuration.observe({ kind }, ms / 1000);
    if (ctx.retries) metrics.retries.inc(ctx.retries);
    if (ctx.decision && audit) audit.record(ctx, status, bytes, ms);
  };
}
