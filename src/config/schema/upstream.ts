/**
 * How requests reach the backends: timeouts, load balancing, backend TLS, the
 * identity sent upstream, HTML rewriting.
 */
import { z } from 'zod';
import { cidr, describe, duration, nonEmpty } from './primitives.js';

// --- upstream ---------------------------------------------------------------------

const headerName = z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name');
/** A header name, or a prefix of names ending in `*`; `_` is allowed (it is compared as `-`). */
const headerNameOrPrefix = z
  .string()
  .regex(/^[A-Za-z0-9_-]+\*?$/, 'must be an HTTP header name, or a prefix ending in `*`');

/** The rewriter's cost limits when nothing is configured (src/proxy/rewrite/limits.ts). */
export const REWRITE_DEFAULTS = { maxBodyBytes: 16 * 1024 * 1024, maxTokenBytes: 1024 * 1024 } as const;

const rewrite = z
  .strictObject({
    maxBodyBytes: describe(
      z.number().int().min(1024).default(REWRITE_DEFAULTS.maxBodyBytes),
      'decoded HTML bytes per response that go through the link rewriter; the rest passes through unrewritten. ' +
        'A compressed body that inflates past this and more than 100:1 is cut (decompression bomb)',
    ),
    maxTokenBytes: describe(
      z.number().int().min(1024).default(REWRITE_DEFAULTS.maxTokenBytes),
      'largest unfinished tag, attribute or comment the rewriter holds; past it the rest of the body passes through unrewritten',
    ),
    sandbox: describe(
      z.array(nonEmpty).default([]),
      'request paths (globs, as rewriteHTMLExclude) whose path-form responses get ' +
        '`Content-Security-Policy: sandbox` (scripts run, but on an opaque origin: no cookies, no same-origin ' +
        'requests to the gateway or other apps). The page’s own requests carry no session either: only for ' +
        'self-contained pages (single-file reports); host routing is the general answer',
      [['/api/v1/namespaces/reports/services/*/proxy/**']],
    ),
  })
  .prefault({});

export const upstream = z
  .strictObject({
    connectTimeout: describe(
      duration('5s'),
      'longest wait to connect to an endpoint, TLS handshake included for https; a timeout is a connect failure (retried on another endpoint)',
    ),
    responseHeaderTimeout: describe(duration('60s'), 'time to the first response byte; 504 after'),
    idleTimeout: describe(duration('90s'), 'keep-alive idle time of upstream connections'),
    maxRequestBodyBytes: describe(z.number().int().min(0).default(0), 'largest request body (0: unlimited)'),
    maxUpgradesPerUser: describe(
      z.number().int().min(1).default(256),
      'WebSocket connections and tunnels, together, one user may have open through this replica at once; one more is a 429. ' +
        'Each holds two sockets of the gateway for as long as it lasts',
    ),
    loadBalancing: describe(
      z
        .strictObject({
          policy: describe(
            z.enum(['p2c', 'round-robin', 'random']).default('p2c'),
            '`p2c`: the less busy of two random endpoints; `round-robin`; `random`',
          ),
          affinityKey: describe(
            z.enum(['client-ip', 'user']).default('client-ip'),
            'key used for sessionAffinity',
          ),
          zone: describe(z.string().optional(), 'this gateway’s zone, for PreferClose traffic distribution'),
          retries: describe(
            z.number().int().min(0).max(5).default(2),
            'retries on another endpoint after a connection failure before any response byte (non-idempotent methods only if nothing was sent)',
          ),
          retryBudgetPercent: describe(
            z.number().min(0).max(100).default(20),
            'retries as a share of requests',
          ),
          maxTargets: describe(
            z.number().int().min(1).default(10_000),
            'Services, pods and nodes (each port apart) the balancer keeps state for (ejections, affinity, retry budget); ' +
              'past it the least recently used is forgotten. A client names the port, so without a bound one user could make ~65k per pod',
          ),
          outlierDetection: describe(
            z
              .strictObject({
                consecutiveFailures: describe(
                  z.number().int().min(1).default(5),
                  'connect errors or 5xx in a row that eject an endpoint',
                ),
                baseEjectionTime: describe(
                  duration('10s'),
                  'length of a first ejection; each further one lasts this much longer, up to 5m',
                ),
                maxEjectionPercent: describe(
                  z.number().min(0).max(50).default(50),
                  'largest share of a Service’s endpoints ejected at once (a lone endpoint never is)',
                ),
              })
              .prefault({}),
            'passive health checking: endpoints that keep failing are left out for a while',
          ),
        })
        .prefault({}),
      'how an endpoint is chosen for each request',
      [
        {
          policy: 'round-robin',
          zone: 'eu-west-1a',
          retries: 1,
          outlierDetection: { consecutiveFailures: 3, baseEjectionTime: '30s' },
        },
      ],
    ),
    tls: describe(
      z
        .strictObject({
          verify: describe(z.boolean().default(false), 'verify `https:` backends (the apiserver does not)'),
          caFile: describe(
            z.string().optional(),
            'PEM CA bundle `https:` backends are verified against (instead of the system CAs); read when the config loads',
          ),
        })
        .prefault({}),
      'TLS to `https:` backends',
      [{ verify: true, caFile: '/etc/kube-bastion/upstream-ca.crt' }],
    ),
    identityHeaders: describe(
      z
        .strictObject({
          enabled: describe(z.boolean().default(true), 'send the caller’s identity in plain headers'),
          user: describe(headerName.default('X-Forwarded-User'), 'header carrying the username'),
          groups: describe(
            headerName.default('X-Forwarded-Groups'),
            'header carrying the groups, comma-separated',
          ),
          email: describe(
            headerName.default('X-Forwarded-Email'),
            'header carrying the email, when the user has one',
          ),
          strip: describe(
            z.array(headerNameOrPrefix).default([]),
            'more client headers to drop as identity claims (any case, `_` or `-`; `X-MyCorp-*` for a prefix), ' +
              'beyond the built-in list (Remote-User, X-Remote-*, X-WEBAUTH-*, X-Auth-Request-*, X-Authenticated-*, …; see docs/security.md)',
          ),
        })
        .prefault({}),
      'plain identity headers for upstreams; copies sent by clients are always dropped',
      [
        {
          user: 'X-Auth-Request-User',
          groups: 'X-Auth-Request-Groups',
          email: 'X-Auth-Request-Email',
          strip: ['X-MyCorp-User', 'X-MyCorp-Auth-*'],
        },
      ],
    ),
    assertion: describe(
      z
        .strictObject({
          enabled: describe(z.boolean().default(true), 'send the signed identity assertion'),
          header: describe(headerName.default('X-Bastion-Assertion'), 'header carrying the assertion'),
          ttl: describe(duration('2m'), 'lifetime of an assertion (`exp` − `iat`)'),
          signingKeyFile: describe(
            z.string().optional(),
            'PEM EC P-256 private key(s): the first signs, the others are only published (rotation); checked when the config loads, re-read while running; generated at start when absent',
          ),
          keyRotation: describe(
            duration('24h'),
            'how often a generated signing key is replaced; the old key stays published until its assertions expire',
          ),
        })
        .prefault({}),
      'a short-lived ES256 JWT naming the caller and the target, verifiable with /.well-known/jwks.json',
      [{ ttl: '1m', signingKeyFile: '/var/run/secrets/kube-bastion/assertion-signing-key' }],
    ),
    allowSelectorlessServices: describe(
      z.boolean().default(false),
      'proxy to EndpointSlices without a Pod targetRef (CVE-2021-25740: anyone who can write them picks the IP)',
    ),
    allowedAddresses: describe(
      z.array(cidr).default([]),
      'CIDRs allowed even though they are loopback/link-local (e.g. 127.0.0.0/8 for local testing)',
    ),
    rewriteHTML: describe(
      z.boolean().default(true),
      'rewrite root-relative links in proxied HTML to keep the prefix',
    ),
    rewriteHTMLExclude: describe(
      z.array(nonEmpty).default([]),
      'request paths (globs over the whole canonical path — the one the request was routed by, escapes decoded and dot segments resolved; ' +
        '`**` crosses `/`, `*`, `?`, `[…]`, `{a,b}`; matched in linear time) whose HTML is passed through unrewritten, ' +
        'e.g. `/api/v1/namespaces/monitoring/services/grafana*/proxy/**` for an app configured with its prefix; ' +
        'Location and Set-Cookie are still rewritten',
    ),
    rewrite: describe(
      rewrite,
      'limits and protections of response rewriting (the path form); upstream Set-Cookie lines naming a gateway cookie are always dropped',
    ),
  })
  .prefault({});
