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

/** What the audit log needs; kept structural so the audit module can evolve freely. */
export interface AuditSink {
  record(ctx: RequestContext, status: number, bytes: number, durationMs: number): void;
}

/**
 * prom-client hashes the label set on every inc(): keep the children. Their
 * keys are bounded label sets; the cap only guards against a future label
 * that is not.
 */
function childCache<C>(make: (key: string) => C, max = 5000) {
  const children = new Map<string, C>();
  return (key: string): C => {
    let child = children.get(key);
    if (!child) {
      if (children.size >= max) children.clear();
      children.set(key, (child = make(key)));
    }
    return child;
  };
}

/** `rule[3]`, `kubernetes-rbac`, …: what the code writes; anything else would be a label nobody chose. */
const decidedBy = (by: string) => (/^(rule\[\d{1,4}\]|[a-z-]{1,40})$/.test(by) ? by : 'other');

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
  const counterFor = childCache((key) =>
    metrics.requests.labels(...(key.split('\n') as [string, string, string])),
  );
  const histogramFor = childCache((kind) => metrics.requestDuration.labels(kind));
  const decisionFor = childCache((key) => metrics.decisions.labels(...(key.split('\n') as [string, string])));

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
    counterFor(`${labels.namespace}\n${labels.kind}\n${labels.code}`).inc();
    histogramFor(labels.kind).observe(ms / 1000);
    // Retries are counted by the balancer as they happen.
    if (ctx.decision) {
      decisionFor(`${ctx.decision.allowed}\n${decidedBy(ctx.decision.by)}`).inc();
      audit?.record(ctx, status, bytes, ms);
    }
  };
}
