/**
 * What an open tunnel reports, turned into the gateway's outputs: the audit
 * event at its open (its close is the request's own event, carrying
 * `ctx.tunnel`), the metrics, and a log line at each end. Labels come from
 * fixed sets only.
 */
import type { AuditLog } from '../observability/audit.js';
import { auditEvent } from '../observability/audit.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { TunnelEvents } from '../proxy/tunnel/index.js';
import { elapsedMs, type RequestContext } from '../request/context.js';

/** A tunnel request refused before its upgrade, as a `kube_bastion_tunnel_opens_total` result. */
function refusal(status: number): string {
  switch (status) {
    case 400:
      return 'bad-request';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not-found';
    case 499:
      return 'cancelled';
    case 503:
      return 'unavailable';
    default:
      return 'error';
  }
}

const endpointOf = (ctx: RequestContext) =>
  ctx.endpoint ? `${ctx.endpoint.ip}:${ctx.endpoint.port}` : undefined;

export function createTunnelEvents(metrics: Metrics, audit: AuditLog, logger: Logger) {
  const toBackend = metrics.tunnelBytes.labels('to-backend');
  const toClient = metrics.tunnelBytes.labels('to-client');
  const events: TunnelEvents = {
    upgraded: () => metrics.tunnelsOpen.inc(),
    opened(ctx) {
      metrics.tunnelOpens.labels('connected').inc();
      const event = auditEvent(ctx, 101, 0, elapsedMs(ctx));
      if (event) audit.write({ ...event, tunnel: { event: 'open' } });
      logger.info(
        { reqId: ctx.id, user: ctx.identity?.username, target: ctx.target?.key, endpoint: endpointOf(ctx) },
        'tunnel open',
      );
    },
    unreachable: () => metrics.tunnelOpens.labels('backend-unreachable').inc(),
    bytes: (direction, n) => (direction === 'to-backend' ? toBackend : toClient).inc(n),
    closed(ctx, summary) {
      metrics.tunnelsOpen.dec();
      metrics.tunnelCloses.labels(summary.endedBy).inc();
      metrics.tunnelDuration.observe(summary.durationMs / 1000);
      logger.info({ reqId: ctx.id, user: ctx.identity?.username, ...summary }, 'tunnel closed');
    },
  };
  return {
    events,
    /** Every request's end (the pipeline's `finished`): counts tunnel requests refused before the upgrade. */
    finished: (ctx: RequestContext, status: number): void => {
      if (ctx.proxyPath?.subresource === 'portforward' && status !== 101) {
        metrics.tunnelOpens.labels(refusal(status)).inc();
      }
    },
  };
}
