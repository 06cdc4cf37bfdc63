/** Host-based access: Services on their own hostnames, with no path prefix. */
import { z } from 'zod';
import { DNS_NAME, describe, duration, nonEmpty } from './primitives.js';

// --- routing ----------------------------------------------------------------------

/** Routed hosts are reached on publicURL's scheme and port, so a host is a bare name: no scheme, port or path. */
const BARE_HOST =
  'must be a bare host name such as `apps.example.com` (no scheme, port, path or `*.`): routed hosts use publicURL’s scheme and port';

const hostName = nonEmpty.max(254, 'must be at most 253 characters').regex(DNS_NAME, BARE_HOST);
/** How hosts compare: without case or a final dot. */
export const normalHost = (host: string): string => host.toLowerCase().replace(/\.$/, '');

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const ROUTE_TARGET = new RegExp(`^${DNS_LABEL}/${DNS_LABEL}(:[A-Za-z0-9-]+)?$`);

const between = (min: number, max: number) => (ms: number) => ms >= min && ms <= max;

const handoff = z
  .strictObject({
    ttl: describe(
      duration('30s').refine(between(5_000, 300_000), 'must be between 5s and 5m'),
      'how long a sign-in handoff may take from the gateway’s host to the routed host; each is redeemed once',
    ),
    hostSessionTTL: describe(
      duration('5m').refine(between(30_000, 86_400_000), 'must be between 30s and 24h'),
      'with `session.store: cookie`: how long a routed host’s cookie lives before the host silently hands off again — the most a sign-out takes to reach other replicas’ routed hosts (with `redis` sign-out is immediate and this is not used)',
    ),
  })
  .prefault({});

export const routing = z
  .strictObject({
    hostSuffix: describe(
      hostName
        .refine((h) => normalHost(h).includes('.') || normalHost(h) === 'localhost', {
          message: 'must have at least two labels (`apps.example.com`): every `x--y.<suffix>` host is routed',
        })
        .optional(),
      'e.g. `apps.example.com`: `web--team-a.apps.example.com` reaches team-a/web',
      ['apps.example.com'],
    ),
    routes: describe(
      z
        .array(
          z.strictObject({
            host: describe(hostName, 'exact hostname (no port), e.g. `grafana.example.com`'),
            target: describe(
              nonEmpty.regex(ROUTE_TARGET, 'must look like "namespace/service" or "namespace/service:port"'),
              'the Service the host reaches: `namespace/service` (its default port, as for hostSuffix) or `namespace/service:port` (port name or number)',
            ),
          }),
        )
        .default([])
        .superRefine((routes, ctx) => {
          const seen = new Set<string>();
          routes.forEach((r, i) => {
            const host = normalHost(r.host);
            if (seen.has(host))
              ctx.addIssue({ code: 'custom', path: [i, 'host'], message: `"${r.host}" is listed twice` });
            seen.add(host);
          });
        }),
      'fixed hostnames for chosen Services, checked before hostSuffix; authorized like the path form',
      [
        [
          { host: 'grafana.example.com', target: 'monitoring/grafana:http' },
          { host: 'docs.example.com', target: 'docs/site' },
        ],
      ],
    ),
    handoff: describe(
      handoff,
      'browser sign-in on routed hosts without `session.cookieDomain`: a one-time ticket from the gateway’s host sets a host-only cookie on the routed host',
      [{ ttl: '30s', hostSessionTTL: '5m' }],
    ),
  })
  .prefault({});
