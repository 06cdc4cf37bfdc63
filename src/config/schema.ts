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

/**
 * Documents a key in docs/configuration.md. `examples` (typed as what a config
 * file may hold, so tsc catches drift) are for keys whose default does not show
 * the shape: lists, objects, globs, CEL. The docs test parses every one.
 */
const describe = <T extends z.ZodType>(schema: T, description: string, examples?: z.input<T>[]): T =>
  schema.meta(examples ? { description, examples } : { description });

// --- listen / admin -------------------------------------------------------

const tlsFiles = z.strictObject({
  certFile: describe(nonEmpty, 'PEM certificate chain file'),
  keyFile: describe(nonEmpty, 'PEM private key file'),
});

const listen = z.strictObject({
  address: describe(z.string().default('0.0.0.0'), 'address the public listener binds to'),
  port: describe(port.default(8080), 'public port'),
  tls: describe(tlsFiles.optional(), 'serve HTTPS on the public port; plain HTTP when absent', [
    { certFile: '/etc/kube-bastion/tls/tls.crt', keyFile: '/etc/kube-bastion/tls/tls.key' },
  ]),
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
  shutdown: describe(
    z
      .strictObject({
        delay: describe(
          duration('5s'),
          'after SIGTERM, keep serving this long (unready) so load balancers stop sending traffic',
        ),
        timeout: describe(duration('30s'), 'then wait at most this long for in-flight requests to finish'),
      })
      .prefault({}),
    'graceful shutdown on SIGTERM',
  ),
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

const kubernetes = describe(
  z.union([z.literal('none'), kubernetesCluster]).prefault({}),
  'where cluster state comes from: an object (in-cluster or kubeconfig) or "none" to serve only `static.services`',
  ['none', { kubeconfig: '/etc/kube-bastion/kubeconfig', context: 'staging' }],
);

const staticService = z.strictObject({
  namespace: describe(nonEmpty, 'namespace of the Service'),
  name: describe(nonEmpty, 'name of the Service'),
  ports: describe(
    z
      .array(
        z.strictObject({
          name: describe(z.string().default(''), 'port name, as in `service:name` paths'),
          port: describe(port, 'the Service port (as in `service:80` paths)'),
          targetPort: describe(
            port.optional(),
            'backend port for endpoints given without one; default: port',
          ),
          appProtocol: describe(z.string().optional(), 'appProtocol of the Service port (informational)'),
        }),
      )
      .min(1),
    'ports of the Service; at least one',
  ),
  endpoints: describe(z.array(nonEmpty), 'addresses ("127.0.0.1" or "127.0.0.1:8081") of the ready backends'),
  labels: describe(
    z.record(z.string(), z.string()).optional(),
    'labels of the Service (informational, as on a cluster Service)',
  ),
});

const staticState = z.strictObject({
  services: describe(
    z.array(staticService).default([]),
    'Services served without a cluster (with `kubernetes: none`), e.g. for the demo',
    [
      [
        {
          namespace: 'demo',
          name: 'whoami',
          ports: [{ name: 'http', port: 80, targetPort: 8081 }],
          endpoints: ['127.0.0.1'],
        },
      ],
    ],
  ),
});

// --- authentication ----------------------------------------------------------

const claimOrExpression = z
  .strictObject({
    claim: describe(z.string().optional(), 'name of the token claim the value is read from'),
    prefix: describe(
      z.string().optional(),
      'prepended to the claim value (to each group); unset for username means `<issuer url>#` unless the claim is `email`',
    ),
    expression: describe(
      z.string().optional(),
      'CEL over `claims` computing the value instead of `claim` (a string; a list of strings for groups)',
    ),
  })
  .refine((m) => (m.claim === undefined) !== (m.expression === undefined), {
    message: 'set exactly one of claim or expression',
  })
  .refine((m) => m.expression === undefined || m.prefix === undefined, {
    message: 'prefix goes with claim, not with expression',
  });

const claimMappings = z.strictObject({
  username: describe(
    claimOrExpression,
    'how the username is formed; with `claim: email` the token must have `email_verified: true`',
  ),
  groups: describe(
    claimOrExpression.optional(),
    'how the groups are formed (claim: a string or a list); none when unset',
  ),
  uid: describe(claimOrExpression.optional(), 'how the user’s uid is formed; none when unset'),
  email: describe(
    claimOrExpression.optional(),
    'how the email (sent upstream) is formed; default: the `email` claim, only when `email_verified` is true',
  ),
  extra: describe(
    z
      .array(
        z.strictObject({
          key: describe(nonEmpty, 'name of the extra attribute, e.g. `example.com/tenant`'),
          valueExpression: describe(
            nonEmpty,
            'CEL over `claims` returning a string or a list of strings; empty results are left out',
          ),
        }),
      )
      .optional(),
    'extra user attributes, passed to Kubernetes RBAC in the SubjectAccessReview',
  ),
});

const claimValidationRule = z.union([
  z.strictObject({
    claim: describe(nonEmpty, 'claim that must hold exactly requiredValue'),
    requiredValue: describe(z.string(), 'the string the claim must equal'),
  }),
  z.strictObject({
    expression: describe(nonEmpty, 'CEL over `claims` that must return true'),
    message: describe(
      z.string().optional(),
      'why the token is refused when the rule fails (shown to the client)',
    ),
  }),
]);

const jwtIssuer = z.strictObject({
  issuer: describe(
    z.strictObject({
      url: describe(httpsURL, 'the `iss` the tokens carry; must be https'),
      discoveryURL: describe(
        anyURL.optional(),
        'where to fetch the discovery document when it is not at url/.well-known/openid-configuration',
      ),
      audiences: describe(
        z.array(nonEmpty).min(1, 'must list at least one audience'),
        'accepted `aud` values',
      ),
      audienceMatchPolicy: describe(
        z.literal('MatchAny').optional(),
        'only `MatchAny` (as in Kubernetes): a token is accepted when any of its audiences is listed',
      ),
      certificateAuthority: describe(
        z.string().optional(),
        'CA bundle trusted for the issuer’s TLS: PEM text or a PEM file path',
      ),
    }),
    'the issuer whose tokens are trusted',
  ),
  claimMappings: describe(
    claimMappings.prefault({ username: { claim: 'sub' } }),
    'how the verified claims become the user; default: username from `sub`, prefixed `<issuer url>#`',
  ),
  claimValidationRules: describe(
    z.array(claimValidationRule).default([]),
    'checks on the claims before mapping: every rule must pass, else 401',
  ),
  userValidationRules: describe(
    z
      .array(
        z.strictObject({
          expression: describe(
            nonEmpty,
            'CEL over `user` (username, uid, groups, extra) that must return true',
          ),
          message: describe(
            z.string().optional(),
            'why the token is refused when the rule fails (shown to the client)',
          ),
        }),
      )
      .default([]),
    'checks on the mapped user: every rule must pass, else 401',
  ),
});

const oidc = z
  .strictObject({
    issuer: describe(anyURL, 'OIDC issuer URL (https except for loopback development issuers)'),
    clientID: describe(nonEmpty, 'client ID registered for the gateway at the IdP'),
    clientSecret: describe(
      z.string().optional(),
      'client secret; prefer clientSecretFile or `${ENV_VAR}`; omit both for a public client (PKCE only)',
    ),
    clientSecretFile: describe(
      z.string().optional(),
      'file holding the client secret (e.g. a mounted Secret), read when the config loads',
    ),
    scopes: describe(
      z.array(nonEmpty).default(['openid', 'profile', 'email', 'offline_access']),
      'scopes asked for at sign-in; `offline_access` gets a refresh token so sessions can outlive the ID token',
    ),
    claimMappings: describe(
      claimMappings.prefault({ username: { claim: 'email' }, groups: { claim: 'groups' } }),
      'how the IdP’s claims become the user (same shape as `jwt[].claimMappings`)',
    ),
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
    secretFile: describe(
      z.string().optional(),
      'file holding the session secret (at least 32 characters), read when the config loads',
    ),
    previousSecrets: describe(
      z.array(z.string()).default([]),
      'older secrets still accepted for reading (rotation)',
    ),
    ttl: describe(duration('12h'), 'absolute session lifetime'),
    idleTimeout: describe(duration('0'), 'sign out after this long without a request (0: off)'),
    refreshBefore: describe(duration('5m'), 'refresh the IdP tokens this long before they expire'),
    store: describe(
      z.enum(['cookie', 'redis']).default('cookie'),
      '`cookie`: the sealed session lives in the browser; `redis`: server-side, so logout is immediate and replicas share refreshes',
    ),
    redis: describe(
      z.strictObject({ url: describe(nonEmpty, 'redis:// or rediss:// URL') }).optional(),
      'the Redis server of `store: redis`',
    ),
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
  oidc: describe(oidc.optional(), 'browser sign-in (authorization code flow with PKCE); needs `session`', [
    {
      issuer: 'https://dex.example.com',
      clientID: 'kube-bastion',
      clientSecretFile: '/var/run/secrets/kube-bastion/oidc-client-secret',
      scopes: ['openid', 'profile', 'email', 'groups', 'offline_access'],
      claimMappings: { username: { claim: 'email' }, groups: { claim: 'groups', prefix: 'oidc:' } },
    },
  ]),
  jwt: describe(
    z.array(jwtIssuer).default([]),
    'trusted bearer-token issuers, in the shape of the Kubernetes AuthenticationConfiguration `jwt` list',
    [
      [
        {
          issuer: { url: 'https://token.actions.githubusercontent.com', audiences: ['kube-bastion'] },
          claimMappings: { username: { claim: 'sub', prefix: 'github:' } },
          claimValidationRules: [{ claim: 'repository_owner', requiredValue: 'example-org' }],
        },
        {
          issuer: { url: 'https://sso.example.com', audiences: ['kube-bastion', 'ci'] },
          claimMappings: {
            username: { expression: "'sso:' + claims.preferred_username" },
            groups: { expression: "claims.groups.map(g, 'sso:' + g)" },
            extra: [{ key: 'example.com/tenant', valueExpression: 'claims.tenant' }],
          },
          claimValidationRules: [
            { expression: "claims.tenant == 'example'", message: 'only the example tenant may sign in' },
          ],
          userValidationRules: [
            { expression: "!user.username.startsWith('sso:system')", message: 'system accounts are refused' },
          ],
        },
      ],
    ],
  ),
  serviceAccountTokens: describe(
    z
      .strictObject({
        enabled: describe(
          z.boolean().default(false),
          'accept bearer tokens the cluster accepts (ServiceAccount tokens), checked with a TokenReview; needs a cluster',
        ),
        audiences: describe(
          z.array(nonEmpty).optional(),
          'audiences the token must be valid for; default: the apiserver’s own',
        ),
        cacheTTL: describe(duration('10s'), 'how long a TokenReview answer (accepted or rejected) is reused'),
      })
      .prefault({}),
    'Kubernetes ServiceAccount tokens as bearer tokens',
    [{ enabled: true, audiences: ['kube-bastion'], cacheTTL: '30s' }],
  ),
  session: describe(session.optional(), 'browser sessions after OIDC sign-in; required with `oidc`', [
    {
      secretFile: '/var/run/secrets/kube-bastion/cookie-secret',
      ttl: '8h',
      idleTimeout: '1h',
      store: 'redis',
      redis: { url: 'rediss://redis.kube-bastion.svc:6379' },
    },
  ]),
});

// --- authorization ------------------------------------------------------------

const verb = z.enum(['get', 'create', 'update', 'patch', 'delete', '*']);
const resource = z.enum(['services', 'pods', 'nodes', '*']);

const rule = z.strictObject({
  users: describe(
    z.array(glob).optional(),
    'usernames the rule applies to (globs); with neither users nor groups, every signed-in user',
  ),
  groups: describe(
    z.array(glob).optional(),
    'groups the rule applies to (globs); one matching group is enough',
  ),
  namespaces: describe(z.array(glob).min(1), 'namespaces the rule covers (globs); nodes match only `*`'),
  resources: describe(
    z.array(resource).min(1),
    'what may be reached: `services`, `pods`, `nodes`; `*` means services and pods (nodes must be named)',
  ),
  names: describe(
    z.array(glob).optional(),
    'raw name segments as RBAC resourceNames see them, e.g. `web:http`',
  ),
  verbs: describe(
    z.array(verb).min(1),
    'GET/HEAD: get, POST: create, PUT: update, PATCH: patch, DELETE: delete; WebSocket upgrades need create; `*`: all methods',
  ),
});

const authorization = z.strictObject({
  namespaces: describe(
    z
      .strictObject({
        allow: describe(z.array(glob).default(['*']), 'namespaces that may be reached at all (globs)'),
        deny: describe(
          z.array(glob).default(['kube-system']),
          'namespaces never reached, even when allowed (globs); setting it replaces the default, so keep kube-system',
        ),
      })
      .prefault({}),
    'the namespace fence, checked before any rule or RBAC; nodes are outside it',
    [{ allow: ['team-*', 'shared'], deny: ['kube-system', 'team-secret'] }],
  ),
  rules: describe(
    z.array(rule).default([]),
    'static grants: a request is allowed when any rule matches all its fields',
    [
      [
        { groups: ['oidc:sre'], namespaces: ['*'], resources: ['*'], verbs: ['*'] },
        { groups: ['oidc:team-a'], namespaces: ['team-a'], resources: ['services'], verbs: ['get'] },
        {
          users: ['github:repo:example-org/deploy:*'],
          namespaces: ['staging'],
          resources: ['services'],
          names: ['api:http'],
          verbs: ['get', 'create'],
        },
      ],
    ],
  ),
  kubernetesRBAC: describe(
    z
      .strictObject({
        enabled: describe(
          z.boolean().default(false),
          'when no rule allows, ask the cluster’s RBAC (SubjectAccessReview on `<resource>/proxy`); needs a cluster',
        ),
        cacheTTL: describe(duration('5m'), 'how long an allowed SubjectAccessReview answer is reused'),
        deniedCacheTTL: describe(duration('30s'), 'how long a denied answer is reused'),
      })
      .prefault({}),
    'the cluster’s RBAC, asked when no static rule allows: grant e.g. `get` on `services/proxy` with a RoleBinding',
    [{ enabled: true, cacheTTL: '1m', deniedCacheTTL: '10s' }],
  ),
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

const headerName = z.string().regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name');

const upstream = z
  .strictObject({
    connectTimeout: describe(
      duration('5s'),
      'longest wait to connect to an endpoint, TLS handshake included for https; a timeout is a connect failure (retried on another endpoint)',
    ),
    responseHeaderTimeout: describe(duration('60s'), 'time to the first response byte; 504 after'),
    idleTimeout: describe(duration('90s'), 'keep-alive idle time of upstream connections'),
    maxRequestBodyBytes: describe(z.number().int().min(0).default(0), 'largest request body (0: unlimited)'),
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
            'PEM CA bundle `https:` backends are verified against (instead of the system CAs)',
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
        })
        .prefault({}),
      'plain identity headers for upstreams; copies sent by clients are always dropped',
      [
        {
          user: 'X-Auth-Request-User',
          groups: 'X-Auth-Request-Groups',
          email: 'X-Auth-Request-Email',
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
            'PEM EC P-256 private key(s): the first signs, the others are only published (rotation); generated at start when absent',
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
    level: describe(
      z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      'least severe level of the operational log written; audit events are not affected',
    ),
    format: describe(
      z.enum(['json', 'pretty']).default('json'),
      '`json` lines, or `pretty` for reading in a terminal',
    ),
    audit: describe(
      z
        .strictObject({
          enabled: describe(z.boolean().default(true), 'write the audit trail'),
          file: describe(
            z.string().optional(),
            'append audit events here; default: stdout with `"audit":true`',
          ),
        })
        .prefault({}),
      'the audit trail: one event per authorization decision, whatever the log level',
    ),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    listen: describe(listen.prefault({}), 'the public listener: proxied requests, sign-in and the portal'),
    admin: describe(admin.prefault({}), 'the admin listener: health checks and metrics'),
    publicURL: describe(
      anyURL.default('http://localhost:8080'),
      'external base URL: OIDC redirect URI and cookie flags',
    ),
    kubernetes,
    static: describe(staticState.prefault({}), 'Services defined in the file instead of read from a cluster'),
    authentication: describe(
      authentication.prefault({}),
      'who the caller is: browser sign-in, bearer tokens and sessions',
    ),
    authorization: describe(authorization.prefault({}), 'what a caller may reach'),
    routing: describe(routing, 'host-based access: Services on their own hostnames, with no path prefix'),
    upstream: describe(upstream, 'how requests reach the backends', [
      {
        connectTimeout: '2s',
        responseHeaderTimeout: '5m',
        idleTimeout: '60s',
        maxRequestBodyBytes: 10_485_760,
      },
    ]),
    logging: describe(logging, 'operational log and audit trail', [
      { level: 'warn', format: 'json', audit: { file: '/var/log/kube-bastion/audit.log' } },
    ]),
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
