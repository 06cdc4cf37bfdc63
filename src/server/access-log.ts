/**
 * The end of every request: one access-log line, the metrics, and (when a
 * decision was made) one audit event. The gateway's own pages are kind `page`.
 * Metric labels come from a bounded set (observability/request-labels.ts).
 */
import type { GatewayError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { requestLabels, type RequestFacts } from '../observability/request-labels.js';
import { elapsedMs, type RequestContext } from '../request/context.js';
import { rememberingTallyKey } from '../observability/tally.js';
import { boundedMemo } from '../memo.js';

/** What the audit log needs; kept structural so the audit module can evolve freely. */
export interface AuditSink {
  record(ctx: RequestContext, status: number, bytes: number, durationMs: number): void;
}

/** `rule[3]`, `kubernetes-rbac`, …: what the code writes; anything else would be a label nobody chose. */
const decidedBy = boundedMemo((by) => (/^(rule\[\d{1,4}\]|[a-z-]{1,40})$/.test(by) ? by : 'other'), 1024);

function factsOf(ctx: RequestContext, status: number): RequestFacts {
  const p = ctx.proxyPath;
  return {
    kind: p?.kind ?? (ctx.page ? 'page' : 'none'),
    namespace: p?.namespace ?? '',
    authenticated: ctx.identity !== undefined,
    resolved: ctx.target !== undefined,
    code: status,
  };
}

export function createAccessLog(logger: Logger, metrics: Metrics, audit?: AuditSink) {
  const requestKey = rememberingTallyKey();
  const decisionKey = rememberingTallyKey();

  return function finished(ctx: RequestContext, status: number, bytes: number, error?: GatewayError): void {
    const ms = elapsedMs(ctx);
    const p = ctx.proxyPath;
    const labels = requestLabels(factsOf(ctx, status), metrics.knowsNamespace);
    // Building the line costs more than writing it: only when it will be written.
    if (logger.isLevelEnabled('info')) {
      logger.info(
        {
          reqId: ctx.id,
          method: ctx.method,
          path: ctx.url.split('?')[0],
          via: ctx.via,
          namespace: p?.namespace,
          kind: labels.kind,
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
    metrics.tallies.requests.inc(requestKey(labels.namespace, labels.kind, labels.code));
    metrics.requestDuration.labels(labels.kind).observe(ms / 1000); // its observer is kept per kind
    // Retries are counted by the balancer as they happen.
    if (ctx.decision) {
      metrics.tallies.decisions.inc(decisionKey(ctx.decision.allowed, decidedBy(ctx.decision.by)));
      audit?.record(ctx, status, bytes, ms);
    }
  };
}
