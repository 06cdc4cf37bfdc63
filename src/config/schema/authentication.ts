/** Who the caller is: bearer-token issuers, ServiceAccount tokens, browser sign-in and its session. */
import { z } from 'zod';
import { claimMappings, claimValidationRule } from './claim-mappings.js';
import {
  anyURL,
  describe,
  duration,
  httpsURL,
  isLoopbackURL,
  nonEmpty,
  SECRET_MIN_LENGTH,
  SECRET_TOO_SHORT,
} from './primitives.js';
import { terminal } from './terminal.js';

// --- authentication ----------------------------------------------------------

/** The per-issuer opt-out from the `system:` rule (claims/identity-names.ts). */
const allowSystemNames = (who: string) =>
  describe(
    z.boolean().default(false),
    `let ${who} assign user names and groups that start with \`system:\` (e.g. map an IdP group to \`system:masters\`); off by default: such identities are refused with 401, because \`system:\` names are Kubernetes' own (nodes, ServiceAccounts, cluster admins)`,
  );

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
        'CA bundle trusted for the issuer’s TLS: PEM text or a PEM file path (read when the config loads)',
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
  allowSystemNames: allowSystemNames('this issuer'),
});

/** openid-client refuses plain-http issuers; the gateway allows them on loopback (the demo's IdP). */
const oidcIssuer = anyURL.refine(
  (u) => u.startsWith('https://') || (u.startsWith('http://') && isLoopbackURL(new URL(u))),
  { message: 'must be https (plain http only for an IdP on localhost or 127.0.0.1)' },
);

const oidc = z
  .strictObject({
    issuer: describe(oidcIssuer, 'OIDC issuer URL (https except for loopback development issuers)'),
    clientID: describe(nonEmpty, 'client ID registered for the gateway at the IdP'),
    clientSecret: describe(
      z.string().min(1, 'must not be empty (omit it, and clientSecretFile, for a public client)').optional(),
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
    allowSystemNames: allowSystemNames('the sign-in IdP'),
  })
  .refine((o) => o.clientSecret === undefined || o.clientSecretFile === undefined, {
    message: 'set clientSecret or clientSecretFile, not both',
  });

const secret = z.string().refine((s) => s.length >= SECRET_MIN_LENGTH, { message: SECRET_TOO_SHORT });

const session = z
  .strictObject({
    cookieName: describe(
      z
        .string()
        .regex(/^[A-Za-z0-9_-]+$/)
        .default('kube_bastion'),
      'base name of the session cookie',
    ),
    secret: describe(secret.optional(), 'at least 32 characters; prefer secretFile'),
    secretFile: describe(
      z.string().optional(),
      'file holding the session secret (at least 32 characters), read when the config loads',
    ),
    previousSecrets: describe(
      z.array(secret).default([]),
      'older secrets still accepted for reading (rotation), at least 32 characters each',
    ),
    ttl: describe(duration('12h'), 'absolute session lifetime'),
    idleTimeout: describe(duration('0'), 'sign out after this long without a request (0: off)'),
    refreshBefore: describe(duration('5m'), 'refresh the IdP tokens this long before they expire'),
    store: describe(
      z.enum(['cookie', 'redis']).default('cookie'),
      '`cookie`: the sealed session lives in the browser; `redis`: server-side, so logout is immediate and replicas share refreshes',
    ),
    redis: describe(
      z
        .strictObject({
          url: describe(
            nonEmpty.refine((u) => /^rediss?:\/\/[^/]/.test(u) && URL.canParse(u), {
              message: 'must be a redis:// or rediss:// URL, e.g. rediss://redis.kube-bastion.svc:6379',
            }),
            'redis:// or rediss:// URL',
          ),
          commandTimeout: describe(
            duration('2s').refine((ms) => ms >= 10, { message: 'must be at least 10ms' }),
            'longest wait for one Redis command (or for a lost connection to come back); past it the request gets 503 instead of hanging',
          ),
        })
        .optional(),
      'the Redis server of `store: redis`',
    ),
    recheckInterval: describe(
      duration('30s').refine((ms) => ms >= 1000, { message: 'must be at least 1s' }),
      'how often an open WebSocket re-checks the session it was opened with: it is closed (code 1008) this long after a sign-out at most, and at the session’s end',
    ),
    cookieDomain: describe(
      z.string().optional(),
      'Domain attribute, to share one session cookie across the gateway’s host and every routed host instead of the sign-in handoff (`routing.handoff`, the default and the safer choice); publicURL, routing.hostSuffix and every routing.routes host must be this domain or under it',
    ),
  })
  .superRefine((s, ctx) => {
    if (s.store === 'redis' && s.redis === undefined)
      ctx.addIssue({ code: 'custom', path: ['redis'], message: 'store: redis needs redis.url' });
    if (s.secret !== undefined && s.secretFile !== undefined)
      ctx.addIssue({ code: 'custom', path: ['secret'], message: 'set secret or secretFile, not both' });
    if (s.secret === undefined && s.secretFile === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['secret'],
        message: 'set secret or secretFile (prefer secretFile: a file holding at least 32 characters)',
      });
  });

/** Every issuer once: a token's `iss` must pick one entry, as in Kubernetes. */
const jwtIssuers = z.array(jwtIssuer).superRefine((issuers, ctx) => {
  const seen = new Set<string>();
  issuers.forEach((entry, i) => {
    if (seen.has(entry.issuer.url))
      ctx.addIssue({
        code: 'custom',
        path: [i, 'issuer', 'url'],
        message: 'is listed twice: each issuer url may appear once (merge the two entries)',
      });
    seen.add(entry.issuer.url);
  });
});

export const authentication = z
  .strictObject({
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
      jwtIssuers.default([]),
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
              {
                expression: "!user.username.startsWith('sso:system')",
                message: 'system accounts are refused',
              },
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
          cacheTTL: describe(
            duration('10s'),
            'how long a TokenReview answer (accepted or rejected) is reused',
          ),
          timeout: describe(
            duration('5s'),
            'longest wait for the API server to answer a TokenReview; then the request gets 503',
          ),
          maxInFlight: describe(
            z.number().int().min(1).default(32),
            'most TokenReviews waiting for the API server at once; a token that would need one more gets 429 (junk tokens cannot flood the API server)',
          ),
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
    cli: describe(
      terminal.prefault({}),
      'sign-in from a terminal (`kube-bastion login`) and the CLI tokens',
      [
        {
          accessTokenTTL: '30m',
          maxLifetime: '8h',
          store: 'kubernetes',
          kubernetes: { namespace: 'kube-bastion' },
        },
      ],
    ),
  })
  .refine((a) => a.oidc === undefined || a.session !== undefined, {
    path: ['session'],
    message:
      'required when authentication.oidc is set: browser sign-in keeps its session here (set session.secretFile)',
  });
