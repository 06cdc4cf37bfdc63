/**
 * The one source of truth for the configuration file: its TypeScript types,
 * its defaults, its validation messages (with the path of the bad key) and the
 * generated reference in docs/configuration.md all come from here.
 *
 * Every object is strict, so a typo'd key is an error that names its path.
 */
import { z } from 'zod';
import { duration } from './duration.js';
import { hostsOutsideCookieDomain } from './cookie-domain.js';

const nonEmpty = z.string().min(1, 'must not be empty');
const port = z.number().int().min(0).max(65535);
const httpsURL = z
  .url({ message: 'must be a URL' })
  .refine((u) => u.startsWith('https://'), { message: 'must be https' });
const anyURL = z.url({ message: 'must be a URL' });
const glob = nonEmpty.meta({ description: 'glob: `*` matches any run of characters' });

const describe = <T extends z.ZodType>(schema: T, description: string): T => schema.meta({ description });

// --- listen / admin -------------------------------------------------------

const tlsFiles = z.strictObject({
  certFile: describe(nonEmpty, 'PEM certificate chain file'),
  keyFile: describe(nonEmpty, 'PEM private key file'),
});

const listen = z.strictObject({
  address: describe(z.string().default('0.0.0.0'), 'address the public listener binds to'),
  port: describe(port.default(8080), 'public port'),
  tls: describe(tlsFiles.optional(), 'serve HTTPS on the public port; plain HTTP when absent'),
  maxHeaderBytes: describe(
    z.number().int().min(1024).max(1_048_576).default(16_384),
    'largest request header block accepted; larger requests get 431',
  ),
  requestTimeout: describe(
    duration('5m'),
    'longest time a client may take to send a whole request (slowloris guard)',
  ),
  headersTimeout: describe(duration('20s'), 'longest time a client may take to send the request headers'),
  keepAliveTimeout: describe(duration('65s'), 'idle keep-alive time of client connections'),
  shutdown: z
    .strictObject({
      delay: describe(
        duration('5s'),
        'after SIGTERM, keep serving this long (unready) so load balancers stop sending traffic',
      ),
      timeout: describe(duration('30s'), 'then wait at most this long for in-flight requests to finish'),
    })
    .prefault({}),
});

const admin = z.strictObject({
  address: describe(z.string().default('0.0.0.0'), 'address the admin listener binds to'),
  port: describe(port.default(9090), 'port of /healthz, /readyz and /metrics'),
});

// --- kubernetes / static ----------------------------------------------------

const kubernetesCluster = z.strictObject({
  kubeconfig: describe(
    z.string().optional(),
    'kubeconfig file; default: in-cluster config, then $KUBECONFIG, then ~/.kube/config',
  ),
  context: describe(z.string().optional(), 'kubeconfig context to use'),
  podCacheTTL: describe(duration('5s'), 'how long a looked-up Pod is reused'),
  nodeCacheTTL: describe(duration('30s'), 'how long a looked-up Node is reused'),
});

const kubernetes = z
  .union([z.literal('none'), kubernetesCluster])
  .prefault({})
  .meta({
    description:
      'where cluster state comes from: an object (in-cluster or kubeconfig) or "none" to serve only `static.services`',
  });

const staticService = z.strictObject({
  namespace: nonEmpty,
  name: nonEmpty,
  ports: z
    .array(
      z.strictObject({
        name: z.string().default(''),
        port,
        targetPort: port.optional(),
        appProtocol: z.string().optional(),
      }),
    )
    .min(1),
  endpoints: describe(z.array(nonEmpty), 'addresses ("127.0.0.1" or "127.0.0.1:8081") of the ready backends'),
  labels: z.record(z.string(), z.string()).optional(),
});

const staticState = z.strictObject({
  services: describe(
    z.array(staticService).default([]),
    'Services served without a cluster (with `kubernetes: none`), e.g. for the demo',
  ),
});

// --- authentication ----------------------------------------------------------

const claimOrExpression = z
  .strictObject({
    claim: z.string().optional(),
    prefix: z.string().optional(),
    expression: describe(z.string().optional(), 'CEL over `claims`'),
  })
  .refine((m) => (m.claim === undefined) !== (m.expression === undefined), {
    message: 'set exactly one of claim or expression',
  })
  .refine((m) => m.expression === undefined || m.prefix === undefined, {
    message: 'prefix goes with claim, not with expression',
  });

const claimMappings = z.strictObject({
  username: claimOrExpression,
  groups: claimOrExpression.optional(),
  uid: claimOrExpression.optional(),
  email: claimOrExpression.optional(),
  extra: z.array(z.strictObject({ key: nonEmpty, valueExpression: nonEmpty })).optional(),
});

const claimValidationRule = z.union([
  z.strictObject({ claim: nonEmpty, requiredValue: z.string() }),
  z.strictObject({ expression: nonEmpty, message: z.string().optional() }),
]);

const jwtIssuer = z.strictObject({
  issuer: z.strictObject({
    url: describe(httpsURL, 'the `iss` the tokens carry; must be https'),
    discoveryURL: describe(
      anyURL.optional(),
      'where to fetch the discovery document when it is not at url/.well-known/openid-configuration',
    ),
    audiences: describe(z.array(nonEmpty).min(1, 'must list at least one audience'), 'accepted `aud` values'),
    audienceMatchPolicy: z.literal('MatchAny').optional(),
    certificateAuthority: describe(z.string().optional(), 'PEM CA bundle for the issuer’s TLS'),
  }),
  claimMappings: claimMappings.prefault({ username: { claim: 'sub' } }),
  claimValidationRules: z.array(claimValidationRule).default([]),
  userValidationRules: z
    .array(z.strictObject({ expression: nonEmpty, message: z.string().optional() }))
    .default([]),
});

const oidc = z
  .strictObject({
    issuer: describe(anyURL, 'OIDC issuer URL (https except for loopback development issuers)'),
    clientID: nonEmpty,
    clientSecret: z.string().optional(),
    clientSecretFile: z.string().optional(),
    scopes: z.array(nonEmpty).default(['openid', 'profile', 'email', 'offline_access']),
    claimMappings: claimMappings.prefault({ username: { claim: 'email' }, groups: { claim: 'groups' } }),
    endSessionRedirect: describe(
      z.boolean().default(true),
      'sign out at the IdP too when it offers end_session_endpoint',
    ),
  })
  .refine((o) => !(o.clientSecret && o.clientSecretFile), {
    message: 'set clientSecret or clientSecretFile, not both',
  });

const session = z
  .strictObject({
    cookieName: describe(
      z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/)
        .default('kube_bastion'),
      'base name of the session cookie',
    ),
    secret: describe(z.string().optional(), 'at least 32 characters; prefer secretFile'),
    secretFile: z.string().optional(),
    previousSecrets: describe(
      z.array(z.string()).default([]),
      'older secrets still accepted for reading (rotation)',
    ),
    ttl: describe(duration('12h'), 'absolute session lifetime'),
    idleTimeout: describe(duration('0'), 'sign out after this long without a request (0: off)'),
    refreshBefore: describe(duration('5m'), 'refresh the IdP tokens this long before they expire'),
    store: z.enum(['cookie', 'redis']).default('cookie'),
    redis: z.strictObject({ url: describe(nonEmpty, 'redis:// or rediss:// URL') }).optional(),
    cookieDomain: describe(
      z.string().optional(),
      'Domain attribute, needed only for host routing across subdomains; publicURL, routing.hostSuffix and every routing.routes host must be this domain or under it',
    ),
  })
  .refine((s) => s.store !== 'redis' || s.redis !== undefined, {
    message: 'store: redis needs redis.url',
    path: ['redis'],
  });

const authentication = z.strictObject({
  oidc: describe(oidc.optional(), 'browser sign-in (authorization code flow with PKCE)'),
  jwt: describe(
    z.array(jwtIssuer).default([]),
    'trusted bearer-token issuers, in the shape of the Kubernetes AuthenticationConfiguration `jwt` list',
  ),
  serviceAccountTokens: z
    .strictObject({
      enabled: z.boolean().default(false),
      audiences: z.array(nonEmpty).optional(),
      cacheTTL: duration('10s'),
    })
    .prefault({}),
  session: session.optional(),
});

// --- authorization ------------------------------------------------------------

const verb = z.enum(['get', 'create', 'update', 'patch', 'delete', '*']);
const resource = z.enum(['services', 'pods', 'nodes', '*']);

const rule = z.strictObject({
  users: z.array(glob).optional(),
  groups: z.array(glob).optional(),
  namespaces: z.array(glob).min(1),
  resources: z.array(resource).min(1),
  names: describe(
    z.array(glob).optional(),
    'raw name segments as RBAC resourceNames see them, e.g. `web:http`',
  ),
  verbs: z.array(verb).min(1),
});

const authorization = z.strictObject({
  namespaces: z
    .strictObject({
      allow: z.array(glob).default(['*']),
      deny: z.array(glob).default(['kube-system']),
    })
    .prefault({}),
  rules: z.array(rule).default([]),
  kubernetesRBAC: z
    .strictObject({
      enabled: z.boolean().default(false),
      cacheTTL: describe(duration('5m'), 'how long an allowed SubjectAccessReview answer is reused'),
      deniedCacheTTL: describe(duration('30s'), 'how long a denied answer is reused'),
    })
    .prefault({}),
  nodeProxy: describe(
    z.boolean().default(false),
    'allow /api/v1/nodes/... (reaches the kubelet API; `get` there allows exec on the node)',
  ),
});

// --- routing / upstream ----------------------------------------------------------

const routing = z
  .strictObject({
    hostSuffix: describe(
      z.string().optional(),
      'e.g. `apps.example.com`: `web--team-a.apps.example.com` reaches team-a/web',
    ),
    routes: z
      .array(
        z.strictObject({
          host: nonEmpty,
          target: nonEmpty.regex(/^[^/\s]+\/[^/:\s]+(:[^/\s]+)?$/, 'must look like "namespace/service:port"'),
        }),
      )
      .default([]),
  })
  .prefault({});

const headerName = z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name');

const upstream = z
  .strictObject({
    connectTimeout: duration('5s'),
    responseHeaderTimeout: describe(duration('60s'), 'time to the first response byte; 504 after'),
    idleTimeout: describe(duration('90s'), 'keep-alive idle time of upstream connections'),
    maxRequestBodyBytes: describe(z.number().int().min(0).default(0), 'largest request body (0: unlimited)'),
    loadBalancing: z
      .strictObject({
        policy: z.enum(['p2c', 'round-robin', 'random']).default('p2c'),
        affinityKey: describe(
          z.enum(['client-ip', 'user']).default('client-ip'),
          'key used for sessionAffinity',
        ),
        zone: describe(z.string().optional(), 'this gateway’s zone, for PreferClose traffic distribution'),
        retries: z.number().int().min(0).max(5).default(2),
        retryBudgetPercent: describe(
          z.number().min(0).max(100).default(20),
          'retries as a share of requests',
        ),
        outlierDetection: z
          .strictObject({
            consecutiveFailures: z.number().int().min(1).default(5),
            baseEjectionTime: duration('10s'),
            maxEjectionPercent: z.number().min(0).max(50).default(50),
          })
          .prefault({}),
      })
      .prefault({}),
    tls: z
      .strictObject({
        verify: describe(z.boolean().default(false), 'verify `https:` backends (the apiserver does not)'),
        caFile: z.string().optional(),
      })
      .prefault({}),
    identityHeaders: z
      .strictObject({
        enabled: z.boolean().default(true),
        user: headerName.default('X-Forwarded-User'),
        groups: headerName.default('X-Forwarded-Groups'),
        email: headerName.default('X-Forwarded-Email'),
      })
      .prefault({}),
    assertion: z
      .strictObject({
        enabled: z.boolean().default(true),
        header: headerName.default('X-Bastion-Assertion'),
        ttl: duration('2m'),
        signingKeyFile: describe(
          z.string().optional(),
          'PEM EC P-256 private key(s): the first signs, the others are only published (rotation); generated at start when absent',
        ),
        keyRotation: describe(
          duration('24h'),
          'how often a generated signing key is replaced; the old key stays published until its assertions expire',
        ),
      })
      .prefault({}),
    allowSelectorlessServices: describe(
      z.boolean().default(false),
      'proxy to EndpointSlices without a Pod targetRef (CVE-2021-25740: anyone who can write them picks the IP)',
    ),
    allowedAddresses: describe(
      z.array(nonEmpty).default([]),
      'CIDRs allowed even though they are loopback/link-local (e.g. 127.0.0.0/8 for local testing)',
    ),
    rewriteHTML: describe(
      z.boolean().default(true),
      'rewrite root-relative links in proxied HTML to keep the prefix',
    ),
    rewriteHTMLExclude: describe(
      z.array(nonEmpty).default([]),
      'request paths (picomatch globs over the whole path, `**` crosses `/`) whose HTML is passed through unrewritten, ' +
        'e.g. `/api/v1/namespaces/monitoring/services/grafana*/proxy/**` for an app configured with its prefix; ' +
        'Location and Set-Cookie are still rewritten',
    ),
  })
  .prefault({});

const logging = z
  .strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    format: z.enum(['json', 'pretty']).default('json'),
    audit: z
      .strictObject({
        enabled: z.boolean().default(true),
        file: describe(
          z.string().optional(),
          'append audit events here; default: stdout with `"audit":true`',
        ),
      })
      .prefault({}),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    listen: listen.prefault({}),
    admin: admin.prefault({}),
    publicURL: describe(
      anyURL.default('http://localhost:8080'),
      'external base URL: OIDC redirect URI and cookie flags',
    ),
    kubernetes,
    static: staticState.prefault({}),
    authentication: authentication.prefault({}),
    authorization: authorization.prefault({}),
    routing,
    upstream,
    logging,
  })
  .superRefine((config, ctx) => {
    const domain = config.authentication.session?.cookieDomain;
    if (domain === undefined) return;
    const outside = hostsOutsideCookieDomain(domain, { publicURL: config.publicURL, ...config.routing });
    for (const message of outside)
      ctx.addIssue({ code: 'custom', path: ['authentication', 'session', 'cookieDomain'], message });
  });

/** The validated configuration with every default filled in; durations in ms. */
export type Config = z.output<typeof configSchema>;
/** What a config file may contain. */
export type ConfigInput = z.input<typeof configSchema>;
export type JwtIssuerConfig = Config['authentication']['jwt'][number];
export type ClaimMappingsConfig = JwtIssuerConfig['claimMappings'];
export type RuleConfig = Config['authorization']['rules'][number];
export type StaticServiceConfig = Config['static']['services'][number];
