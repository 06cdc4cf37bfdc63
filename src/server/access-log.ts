/**
 * The end of every request: one access-log line, the metrics, and (when a
 * decision was made) one audit event. The gateway's own pages are kind `page`.
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
  // prom-client hashes the label set on every inc(); the children are few, so keep them.
  const counters = new Map<string, { inc(): void }>();
  const counterFor = (namespace: string, kind: string, code: number) => {
    const key = `${namespace}\n${kind}\n${code}`;
    let child = counters.get(key);
    if (!child) {
      child = metrics.requests.labels(namespace, kind, String(code));
      counters.set(key, child);
    }
    return child;
  };
  const histograms = new Map<string, { observe(v: number): void }>();
  const histogramFor = (kind: string) => {
    let child = histograms.get(kind);
    if (!child) {
      child = metrics.requestDuration.labels(kind);
      histograms.set(kind, child);
    }
    return child;
  };

  return function finished(ctx: RequestContext, status: number, bytes: number, error?: GatewayError): void {
    const ms = elapsedMs(ctx);
    const p = ctx.proxyPath;
    const kind = p?.kind ?? (ctx.page ? 'page' : 'none');
    // Building the line costs more than writing it: only when it will be written.
    if (logger.isLevelEnabled('info')) {
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
          // The peer, or the client a trusted proxy names (listen.trustedProxies).
          client: ctx.client.ip,
          endpoint: ctx.endpoint ? `${ctx.endpoint.ip}:${ctx.endpoint.port}` : undefined,
          status,
          bytes,
          ms: Math.round(ms * 1000) / 1000,
          retries: ctx.retries || undefined,
          upgrade: ctx.upgrade || undefined,
          error: error?.message,
        },
        'request',
      );
    }
    counterFor(p?.namespace ?? '', kind, status).inc();
    histogramFor(kind).observe(ms / 1000);
    // Retries are counted by the balancer as they happen.
    if (ctx.decision && audit) audit.record(ctx, status, bytes, ms);
  };
}
