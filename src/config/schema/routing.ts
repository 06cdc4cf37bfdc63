/** Host-based access: Services on their own hostnames, with no path prefix. */
import { z } from 'zod';
import { describe, nonEmpty } from './primitives.js';

// --- routing ----------------------------------------------------------------------

export const routing = z
  .strictObject({
    hostSuffix: describe(
      z.string().optional(),
      'e.g. `apps.example.com`: `web--team-a.apps.example.com` reaches team-a/web',
      ['apps.example.com'],
    ),
    routes: describe(
      z
        .array(
          z.strictObject({
            host: describe(nonEmpty, 'exact hostname (no port), e.g. `grafana.example.com`'),
            target: describe(
              nonEmpty.regex(/^[^/\s]+\/[^/:\s]+(:[^/\s]+)?$/, 'must look like "namespace/service:port"'),
              'the Service the host reaches: `namespace/service` or `namespace/service:port` (port name or number)',
            ),
          }),
        )
        .default([]),
      'fixed hostnames for chosen Services, checked before hostSuffix; authorized like the path form',
      [
        [
          { host: 'grafana.example.com', target: 'monitoring/grafana:http' },
          { host: 'docs.example.com', target: 'docs/site' },
        ],
      ],
    ),
  })
  .prefault({});
